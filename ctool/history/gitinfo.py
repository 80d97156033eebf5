"""What git says about a checkout: the commit, its parent, branch, time and dirty flag.

Every call runs ``git`` with a fixed locale and no pager; a directory that is not inside a
git repository yields empty fields (a report made outside git is still kept).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ctool.model.errors import UsageError


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """``git ARGS`` in ``cwd``; its stdout, stripped. A failure is a usage error."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={"LC_ALL": "C", "GIT_PAGER": "cat", "PATH": _path()},
            check=False,
        )
    except OSError as exc:
        raise UsageError(f"git is not available: {exc}") from None
    if check and done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise UsageError(f"git {' '.join(args)}: {message}")
    return done.stdout.strip()


def _path() -> str:
    import os

    return os.environ.get("PATH", "/usr/bin:/bin")


def git_root(cwd: Path) -> Path | None:
    """The top of the work tree holding ``cwd``, or ``None`` outside git."""
    out = git(cwd, "rev-parse", "--show-toplevel", check=False)
    return Path(out) if out else None


@dataclass(frozen=True)
class CommitInfo:
    commit: str = ""
    parent: str = ""
    branch: str = ""
    commit_time: str = ""
    """Committer date, ISO 8601 with its offset."""
    dirty: bool = False
    subject: str = ""


def commit_info(cwd: Path, rev: str = "HEAD") -> CommitInfo:
    """The commit ``rev`` of the checkout at ``cwd`` (empty fields outside git)."""
    if git_root(cwd) is None:
        return CommitInfo()
    line = git(cwd, "log", "-1", "--format=%H%x00%P%x00%cI%x00%s", rev, check=False)
    if not line:
        return CommitInfo()
    commit, parents, when, subject = (line.split("\x00") + ["", "", "", ""])[:4]
    branch = git(cwd, "rev-parse", "--abbrev-ref", "HEAD", check=False) if rev == "HEAD" else ""
    dirty = bool(git(cwd, "status", "--porcelain", "--untracked-files=no", check=False))
    return CommitInfo(
        commit=commit,
        parent=parents.split(" ")[0] if parents else "",
        branch="" if branch == "HEAD" else branch,
        commit_time=when,
        dirty=dirty and rev == "HEAD",
        subject=subject,
    )


def resolve(cwd: Path, rev: str) -> str:
    """The full hash of ``rev``; a name git does not know is a usage error."""
    out = git(cwd, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    if not out:
        raise UsageError(f"not a commit here: {rev!r}")
    return out


def commits_between(cwd: Path, good: str, bad: str) -> list[str]:
    """The first-parent line from ``good`` (first) to ``bad`` (last), both included.

    ``good`` must be an ancestor of ``bad`` on that line; otherwise a usage error."""
    inner = git(cwd, "rev-list", "--first-parent", "--reverse", f"{good}..{bad}").split()
    if not inner:
        raise UsageError(f"{good[:12]} is not an ancestor of {bad[:12]}")
    first_parent = git(cwd, "rev-parse", f"{inner[0]}^1", check=False)
    if first_parent != good:
        raise UsageError(f"{good[:12]} is not on the first-parent line of {bad[:12]}")
    return [good, *inner]


def subject_and_stat(cwd: Path, commit: str) -> tuple[str, str]:
    """A commit's subject line and its ``git diff --stat`` against its first parent."""
    subject = git(cwd, "log", "-1", "--format=%s", commit)
    stat = git(cwd, "show", "--stat", "--format=", "--first-parent", commit, check=False)
    return subject, stat
