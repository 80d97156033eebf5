"""Reading and writing reports: atomic writes, bounded strict loading with one-line errors.

Writes (``-o``, ``--html``, ``compare -o``; docs/promises.md):

* ``-`` is standard output.
* A symlink is written through: its target is replaced atomically, the link stays a link.
* Only regular files are replaced. A device, a FIFO or a socket at the path (``/dev/null``,
  ``/dev/stdout``) is refused with exit 2 before the run: an atomic rename would put a
  regular file in its place, and writing into a FIFO may block forever. ``-`` is stdout.
* The file is written beside its target and renamed over it: readers see the old file or
  the new one. On Linux it is written with no name (``O_TMPFILE``) and named only once whole
  and synced, so a process killed mid-write (SIGKILL) leaves no hidden ``.tmp`` file. A
  failed write (a full disk, EIO, a read-only file system) is one line and exit 2; the old
  file stays as it was and no temporary file is left behind.

Reads: only regular files, at most :data:`MAX_REPORT_BYTES` (``CTOOL_MAX_REPORT_MB`` raises
it); ``NaN`` and ``Infinity`` are refused (no ctool report holds them); strings that are not
valid UTF-8 (lone surrogates, undecodable bytes) are kept, escaped (``\\ud800``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ctool.model.errors import ReportError, UsageError
from ctool.model.schema import REPORT_MODELS, SCHEMA_VERSION, Report
from ctool.model.text import escape_surrogates, map_strings, to_json
from ctool.model.values import check_values

STDOUT = "-"
MAX_REPORT_MB_ENV = "CTOOL_MAX_REPORT_MB"
MAX_REPORT_BYTES = 1024 * 1024 * 1024
"""Default size limit of a report file: 1 GiB (a 10 M-episode report is about 100 MB)."""
MAX_REPORT_MB_LIMIT = 1024 * 1024
"""The largest ``CTOOL_MAX_REPORT_MB`` (1 TiB); ``inf`` or ``1e400`` are refused, not a crash."""
MAX_INT_DIGITS = 30
"""The longest integer a report may hold (counts, nanoseconds, bytes fit in 20 digits)."""


def is_stdout(path: str | os.PathLike[str] | None) -> bool:
    return path is not None and os.fspath(path) == STDOUT


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _special(path: Path) -> bool:
    """Under /proc, or an entry of /dev itself (not /dev/shm/...): no place for a report."""
    return path.parts[1:2] == ("proc",) or path.parent in (Path("/dev"), Path("/dev/fd"))


def resolve_target(path: str | os.PathLike[str]) -> Path:
    """The file a write to ``path`` replaces: symlinks followed; only a regular file (or none)."""
    shown = os.fspath(path)
    real = Path(os.path.realpath(path))
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: {exc.strerror or exc}") from None
    if _special(Path(os.path.abspath(path))) or _special(real):
        # /dev/stdout -> /proc/self/fd/1 -> a pipe, a tty, or whatever file the shell opened
        kind = _kind(mode) if mode is not None and not stat.S_ISREG(mode) else "a special file"
        raise UsageError(
            f"cannot write {shown}: it is {kind}; ctool writes only regular files "
            f"(use - for standard output)"
        )
    if mode is None:
        return real
    if stat.S_ISDIR(mode):
        raise UsageError(f"cannot write {shown}: it is a directory")
    if not stat.S_ISREG(mode):
        raise UsageError(
            f"cannot write {shown}: it is {_kind(mode)}; ctool writes only regular files "
            f"(use - for standard output)"
        )
    return real


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half.

    ``-`` writes to standard output. Every failure is a one-line ``UsageError``.
    """
    if is_stdout(path):
        _write_stdout(text)
        return
    shown = os.fspath(path)
    target = resolve_target(path)
    data = text.encode("utf-8", errors="backslashreplace")
    try:
        if _unnamed_write(target, data):
            return
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, _mode_for(target))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise UsageError(f"cannot write {shown}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _unnamed_write(target: Path, data: bytes) -> bool:
    """Write ``data`` into a file with no name (Linux ``O_TMPFILE``), give it a name once it
    is whole and synced, and rename that over ``target``: a process killed while writing
    (SIGKILL, the OOM killer) leaves nothing behind. False where the system or the file
    system has no ``O_TMPFILE`` (the caller falls back to a named temporary file)."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not os.path.isdir("/proc/self/fd"):
        return False
    try:
        fd = os.open(target.parent, flag | os.O_WRONLY, _mode_for(target))
    except OSError:
        return False
    tmp = None
    proc_fds = -1
    try:
        os.fchmod(fd, _mode_for(target))
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        proc_fds = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
        for _ in range(100):
            name = target.parent / f".{target.name}.{os.urandom(6).hex()}.tmp"
            try:  # linkat(AT_SYMLINK_FOLLOW): give the unnamed file a name
                os.link(str(fd), name, src_dir_fd=proc_fds, follow_symlinks=True)
            except FileExistsError:
                continue
            except OSError:
                return False  # no linkat through /proc here: the named temporary file
            tmp = name
            break
        if tmp is None:
            raise FileExistsError(f"no free temporary name beside {target.name}")
        os.replace(tmp, target)
        tmp = None
    finally:
        os.close(fd)
        if proc_fds >= 0:
            os.close(proc_fds)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return True


def _mode_for(target: Path) -> int:
    """An existing file keeps its permissions; a new one gets what a plain open() gives."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(target).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write_stdout(text: str) -> None:
    stream = sys.stdout
    try:
        stream.write(text)
        stream.flush()
    except UnicodeEncodeError:
        stream.write(text.encode("ascii", "backslashreplace").decode("ascii"))
        stream.flush()


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail before a long run, not after it, when ``path`` cannot be written.

    A real temporary file is created and removed beside the target: a permission check alone
    passes for root where the write would fail (``/proc``, a read-only mount).
    """
    if is_stdout(path):
        return
    shown = os.fspath(path)
    target = resolve_target(path)
    if not target.parent.is_dir():
        raise UsageError(f"cannot write {shown}: directory {target.parent} does not exist")
    if target.exists() and not os.access(target, os.W_OK):
        raise UsageError(f"cannot write {shown}: file is not writable")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=target.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: {exc.strerror or exc}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def write_report(report: Report, path: str | os.PathLike[str]) -> None:
    atomic_write_text(path, to_json(report) + "\n")


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
        raise ReportError(f"{source}: unknown report kind {escape_surrogates(repr(kind))}")
    try:
        report = model.model_validate(data)
    except ValidationError as exc:
        message = escape_surrogates(_first_error(exc))
        raise ReportError(f"{source}: invalid {kind} report: {message}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ReportError(f"{source}: invalid {kind} report: {exc}") from None
    check_values(report, source)
    return report


def max_report_bytes() -> int:
    raw = os.environ.get(MAX_REPORT_MB_ENV, "").strip()
    if not raw:
        return MAX_REPORT_BYTES
    try:
        megabytes = float(raw)
    except ValueError:
        raise UsageError(
            f"{MAX_REPORT_MB_ENV} must be a number of megabytes, got {raw!r}"
        ) from None
    if not 0 < megabytes <= MAX_REPORT_MB_LIMIT:
        raise UsageError(
            f"{MAX_REPORT_MB_ENV} must be between 0 and {MAX_REPORT_MB_LIMIT:,} (megabytes), "
            f"got {raw!r}"
        )
    return int(megabytes * 1024 * 1024)


def read_bounded(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file no larger than the report size limit."""
    source = os.fspath(path)
    limit = max_report_bytes()
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ReportError(f"{source}: is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise ReportError(f"{source}: cannot read: it is {_kind(info.st_mode)}")
        if info.st_size > limit:
            raise ReportError(_too_big(source, info.st_size, limit))
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        raise ReportError(f"{source}: no such file") from None
    except OSError as exc:
        raise ReportError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise ReportError(_too_big(source, len(raw), limit))
    return raw


def _too_big(source: str, size: int, limit: int) -> str:
    return (
        f"{source}: {size / 1048576:,.0f} MiB is over the {limit / 1048576:,.0f} MiB limit "
        f"for reports (set {MAX_REPORT_MB_ENV} to raise it)"
    )


class _Numbers:
    """``json.loads`` hooks that note a number no report may hold (NaN, Infinity, 1e999,
    an integer of thousands of digits)."""

    def __init__(self) -> None:
        self.odd = False
        self.long_int = 0

    def integer(self, text: str) -> int:
        digits = len(text.lstrip("-"))
        if digits > MAX_INT_DIGITS:
            self.long_int = max(self.long_int, digits)
            return 0
        return int(text)

    def constant(self, name: str) -> float:
        self.odd = True
        return float(name)

    def number(self, text: str) -> float:
        value = float(text)
        if math.isinf(value):
            self.odd = True
        return value


def _first_odd(value: Any, where: str = "") -> str | None:
    """The path of the first non-finite number in decoded JSON, e.g. ``stages.TIG.share``."""
    if isinstance(value, float) and not math.isfinite(value):
        return where or "report"
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        found = _first_odd(item, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def load_report(path: str | os.PathLike[str]) -> Report:
    """Load any report kind from ``path``; every failure is a one-line ``ReportError``."""
    source = os.fspath(path)
    text = read_bounded(path).decode("utf-8", errors="surrogateescape")
    if not text.strip():
        raise ReportError(f"{source}: empty file")
    numbers = _Numbers()
    try:
        data = json.loads(
            text,
            parse_constant=numbers.constant,
            parse_float=numbers.number,
            parse_int=numbers.integer,
        )
    except json.JSONDecodeError as exc:
        raise ReportError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ReportError(f"{source}: not valid JSON (nested too deeply)") from None
    del text
    if numbers.long_int:
        raise ReportError(
            f"{source}: an integer of {numbers.long_int:,} digits is not a number a report may "
            f"hold (at most {MAX_INT_DIGITS})"
        )
    try:
        where = _first_odd(data) if numbers.odd else None
        data = map_strings(data, escape_surrogates)
    except RecursionError:
        raise ReportError(f"{source}: not valid JSON (nested too deeply)") from None
    if where is not None:
        raise ReportError(f"{source}: {where}: NaN and Infinity are not numbers a report may hold")
    return parse_report(data, source)
