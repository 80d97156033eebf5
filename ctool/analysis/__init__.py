"""Statistics and analysis: pure functions over the report model (imports only ctool.model)."""
