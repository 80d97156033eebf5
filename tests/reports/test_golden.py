"""The committed golden reports render exactly as recorded in ``tests/golden/rendered``.

The inputs are real reports of every kind; the renderings were written by the code as it was
when they were recorded (``tests/golden/make_golden.py``). A deliberate change of output is
re-recorded with that script in a commit of its own, so the difference is reviewed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_golden"] = module
    spec.loader.exec_module(module)
    return module


MAKER = _maker()
SUFFIX = {"table": "txt", "markdown": "md", "json": "json", "html": "html.txt"}
CASES = [(name, fmt) for name in MAKER.RUNS for fmt in SUFFIX]


@pytest.mark.parametrize(("name", "fmt"), CASES, ids=[f"{n}-{f}" for n, f in CASES])
def test_golden_rendering(name: str, fmt: str, tmp_path: Path) -> None:
    expected = (GOLDEN / "rendered" / f"{name}.{SUFFIX[fmt]}").read_text(encoding="utf-8")
    assert MAKER.render(name, fmt, tmp_path) == expected
