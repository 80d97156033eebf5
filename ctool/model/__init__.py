"""The report model: schema, compact samples, records, errors, formats, file I/O and the
values no report may hold (``values``, checked on load).

Imports nothing else of ctool: every other layer builds on it.
"""
