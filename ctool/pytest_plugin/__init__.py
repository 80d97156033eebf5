"""ctool's pytest plugin: performance checks in a project's own test suite.

Registered through the ``pytest11`` entry point (``ctool.pytest_plugin.plugin``). That
module imports only pytest and the standard library, and does nothing unless a test carries
``@pytest.mark.ctool`` or requests the ``ctool_profile`` fixture; the harness, numpy and
pydantic load the first time one does. See docs/pytest.md.
"""
