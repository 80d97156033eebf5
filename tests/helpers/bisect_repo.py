"""A real git repository of a small three-stage pipeline, for ``ctool bisect``.

Commit k (1-based) of :func:`build_repo` sets ``REVISION = k``; commit ``culprit`` also
makes the ``transform`` stage do ``slowdown`` more work (more iterations of the same loop:
real extra work, no sleep); commits in ``broken`` do not import (a syntax error), and the
commit after each repairs it. The truth is known by construction.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

PIPELINE_REF = "stagedpipe:create"
PARSE, TRANSFORM, SCORE = 100, 4000, 100

SOURCE = '''"""A small three-stage pipeline (a fixture of ctool's bisect tests)."""

from ctool import span

REVISION = {revision}
PARSE, TRANSFORM, SCORE = {parse}, {transform}, {score}
{broken}

def _work(n, state):
    for i in range(n):
        state = (state * 1103515245 + i) & 0xFFFFFFFF
    return state


class Pipeline:
    def __init__(self, seed=0):
        self.seed = seed

    def episode(self, index):
        with span("parse"):
            state = _work(PARSE, self.seed + index)
        with span("transform"):
            state = _work(TRANSFORM, state)
        with span("score"):
            return _work(SCORE, state)


def create(seed=0):
    return Pipeline(seed)
'''


def _git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(repo),
    }  # fmt: skip
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                          check=True)  # fmt: skip
    return done.stdout.strip()


def build_repo(
    repo: Path,
    commits: int = 64,
    culprit: int = 37,
    slowdown: float = 0.08,
    broken: tuple[int, ...] = (),
) -> list[str]:
    """Make the repository; the commits' hashes, first to last (index k-1 is commit k)."""
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "-q", "-b", "main")
    hashes = []
    for k in range(1, commits + 1):
        transform = round(TRANSFORM * (1 + slowdown)) if k >= culprit else TRANSFORM
        text = SOURCE.format(
            revision=k, parse=PARSE, transform=transform, score=SCORE,
            broken="this is not python" if k in broken else "",
        )  # fmt: skip
        (repo / "stagedpipe.py").write_text(text, encoding="utf-8")
        _git(repo, "add", "stagedpipe.py")
        subject = f"commit {k}" + (": transform does more work" if k == culprit else "")
        _git(
            repo,
            "commit",
            "-q",
            "-m",
            subject,
            "--date",
            f"2026-01-01T00:{k // 60:02d}:{k % 60:02d}",
        )
        hashes.append(_git(repo, "rev-parse", "HEAD"))
    return hashes
