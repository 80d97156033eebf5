"""Reading and writing reports: atomic writes, strict loading with one-line errors."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ctool.model.errors import ReportError, UsageError
from ctool.model.schema import REPORT_MODELS, SCHEMA_VERSION, Report


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        # mkstemp makes the file 0600; give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail before a long run, not after it, when ``-o`` cannot be written."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"cannot write {target}: it is a directory")
    if not directory.is_dir():
        raise UsageError(f"cannot write {target}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"cannot write {target}: directory {directory} is not writable")
    if target.exists() and not os.access(target, os.W_OK):
        raise UsageError(f"cannot write {target}: file is not writable")


def write_report(report: Report, path: str | os.PathLike[str]) -> None:
    atomic_write_text(path, report.model_dump_json(indent=1, exclude_none=False) + "\n")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "report"
    return f"{where}: {err.get('msg', 'invalid')}"


def parse_report(data: Any, source: str = "report") -> Report:
    """Validate already-decoded JSON as a report of any kind."""
    if not isinstance(data, dict):
        raise ReportError(f"{source}: not a ctool report (top level is not an object)")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ReportError(f"{source}: not a ctool report (no schema_version)")
    if version > SCHEMA_VERSION:
        raise ReportError(
            f"{source}: schema_version {version} is newer than this ctool understands "
            f"({SCHEMA_VERSION}); upgrade ctool"
        )
    if version < 1:
        raise ReportError(f"{source}: unknown schema_version {version}")
    kind = data.get("kind")
    model = REPORT_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ReportError(f"{source}: unknown report kind {kind!r}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ReportError(f"{source}: invalid {kind} report: {_first_error(exc)}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ReportError(f"{source}: invalid {kind} report: {exc}") from None


def load_report(path: str | os.PathLike[str]) -> Report:
    """Load any report kind from ``path``; every failure is a one-line ``ReportError``."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise ReportError(f"{source}: is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{source}: cannot read: {exc}") from None
    if not text.strip():
        raise ReportError(f"{source}: empty file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ReportError(f"{source}: not valid JSON (nested too deeply)") from None
    return parse_report(data, source)
