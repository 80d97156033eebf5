"""Exporters publish a run as it goes to outside systems.

- ``prometheus``: a ``RunObserver`` serving ``/metrics`` (``--metrics-port``).
"""
