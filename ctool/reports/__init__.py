"""Rendering only: every report kind in every format, from the model it is given.

- ``registry``: (kind, format) to a renderer.
- ``terminal``, ``markdown``, ``sections``, ``hotspots``, ``movers``: profile reports.
- ``compare_terminal``, ``compare_markdown``, ``compare_text``: compare reports.
- ``leak_view``, ``leak_markdown``, ``suite_terminal``: leakcheck and suite reports.
- ``flamegraph``, ``charts/``, ``html/``, ``templates/``: the HTML page and its pictures.
"""
