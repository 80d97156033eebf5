"""The report model: schema, compact samples, records, errors, formats and file I/O.

Imports nothing else of ctool: every other layer builds on it.
"""
