"""`ctool --help` must be fast: it may not import numpy, scipy, any profiler, nor a command's
module (benchmarks/startup.py measures it against the Typer+Rich floor)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["numpy", "scipy", "line_profiler", "memory_profiler", "matplotlib", "pydantic"]
HEAVY += ["dask", "distributed", "memray", "prometheus_client"]
HEAVY += ["jinja2", "sqlalchemy", "psycopg", "chaoslib", "chaostoolkit"]
HEAVY += ["ruptures"]  # ctool history / bisect (issue 23)


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\nsys.argv=['ctool','--help']\nfrom ctool.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    loaded = _modules_after(code)
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_import_ctool_is_light() -> None:
    loaded = _modules_after("import ctool")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_version_and_help_exit_zero() -> None:
    for args in (["--version"], ["--help"]):
        proc = subprocess.run(
            [sys.executable, "-m", "ctool", *args], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
    version = subprocess.run(
        [sys.executable, "-m", "ctool", "--version"], capture_output=True, text=True
    ).stdout
    assert version.startswith("ctool ")


def test_option_errors_are_one_line_exit_2() -> None:
    for args in (["profile", "--bogus"], ["leakcheck", "--episodes", "x"], ["bogus"], ["--bogus"]):
        proc = subprocess.run(
            [sys.executable, "-m", "ctool", *args], capture_output=True, text=True
        )
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ctool: error: "), (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_help_lists_commands_without_importing_them() -> None:
    code = (
        "import sys\nsys.argv=['ctool','--help']\nfrom ctool.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    loaded = _modules_after(code)
    from ctool.cli.app import COMMANDS

    assert not {module for module, _ in COMMANDS.values()} & loaded


def test_the_listed_help_is_each_commands_docstring() -> None:
    """The table ``ctool --help`` reads agrees with each command's own docstring."""
    import ast
    import importlib.util

    from ctool.cli.app import COMMANDS

    for name, (module, short) in COMMANDS.items():
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None
        with open(spec.origin, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        function = next(
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == f"{name}_command"
        )
        first = (ast.get_docstring(function) or "").split("\n\n")[0]
        assert " ".join(first.split()) == short, name
