"""``ctool history check``: does one of the newest commits hold a regression?

A regression is a change point (p <= alpha) in a series whose direction is known, the worse
way, by at least ``threshold``, whose first commit after the change is among the series'
``recent`` newest commits. Each is named by its commit range ``before..after`` (git's
notation: the commits after ``before`` up to ``after``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ctool.history.changepoints import ChangePoint
from ctool.history.series import Series


@dataclass(frozen=True)
class Regression:
    series: Series
    change: ChangePoint
    before_commit: str
    after_commit: str

    @property
    def commit_range(self) -> str:
        return f"{self.before_commit[:12]}..{self.after_commit[:12]}"


def regressions(series: Sequence[Series], *, threshold: float, recent: int) -> list[Regression]:
    found = []
    for one in series:
        newest = set(one.recent_commits(recent))
        for change in one.changes:
            before, after = one.commit_range(change)
            if after not in newest or not one.is_regression(change):
                continue
            if abs(change.change) >= threshold:
                found.append(Regression(one, change, before, after))
    return found
