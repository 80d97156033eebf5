"""One git worktree per commit, its environment built once and reused.

A commit's checkout lives at ``.ctool/bisect/worktrees/<commit>`` under the git root
(``git worktree add --detach``). Its environment is the checkout itself, first on
``PYTHONPATH`` (how ``ab`` runs a side from another checkout), plus whatever ``--build``
makes in it (run once, in the checkout, by the shell). The outcome of the build and of the
import check (the pipeline's module imports and has its factory) is kept beside it as
``<commit>.json``, keyed by the build command and the pipeline reference, so a later bisect
over the same commits reuses the checkouts and skips what failed without trying again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ctool.history.gitinfo import git
from ctool.model.io import atomic_write_text

IMPORT_CHECK = (
    "import importlib, sys\n"
    "module, _, attrs = sys.argv[1].partition(':')\n"
    "target = importlib.import_module(module)\n"
    "for name in attrs.split('.'):\n"
    "    target = getattr(target, name)\n"
    "assert callable(target), 'the factory is not callable'\n"
)
BUILD_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Readiness:
    ok: bool
    why: str = ""


class Checkouts:
    """The cache of checkouts of one repository for one pipeline reference."""

    def __init__(self, repo: Path, pipeline: str, build: str | None = None) -> None:
        self.repo = repo
        self.pipeline = pipeline
        self.build = build
        self.folder = repo / ".ctool" / "bisect" / "worktrees"

    def path(self, commit: str) -> Path:
        """The commit's worktree, added on first use."""
        where = self.folder / commit
        if not (where / ".git").exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            git(self.repo, "worktree", "prune")
            git(self.repo, "worktree", "add", "--detach", "--force", str(where), commit)
        return where

    def _marker(self, commit: str) -> Path:
        return self.folder / f"{commit}.json"

    def ready(self, commit: str) -> Readiness:
        """Built and importable? Cached per commit, build command and pipeline."""
        marker = self._marker(commit)
        key = {"build": self.build, "pipeline": self.pipeline}
        if marker.is_file():
            try:
                saved = json.loads(marker.read_text(encoding="utf-8"))
                if saved.get("key") == key:
                    return Readiness(bool(saved["ok"]), str(saved.get("why", "")))
            except (OSError, ValueError, KeyError):
                pass
        result = self._prepare(self.path(commit))
        data = {"key": key, "ok": result.ok, "why": result.why}
        atomic_write_text(marker, json.dumps(data))
        return result

    def _prepare(self, where: Path) -> Readiness:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(where), env.get("PYTHONPATH")) if p)
        if self.build:
            done = _run(["/bin/sh", "-c", self.build], where, env)
            if done is not None:
                return Readiness(False, f"build failed: {done}")
        done = _run([sys.executable, "-c", IMPORT_CHECK, self.pipeline], where, env)
        if done is not None:
            return Readiness(False, f"import failed: {done}")
        return Readiness(True)


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str | None:
    """``None`` when the command succeeded, else the last line it wrote."""
    try:
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True,
            timeout=BUILD_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode == 0:
        return None
    lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
    return lines[-1].strip() if lines else f"exit {done.returncode}"
