"""Drives any pipeline: spans, loading, load shapes, workers, resource sampling."""
