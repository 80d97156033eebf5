"""A pipeline module that fails on import (for the error-path tests)."""

raise RuntimeError("this pipeline module is broken")
