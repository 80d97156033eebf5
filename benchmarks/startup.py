"""How long `ctool --help` takes, against the floor any Typer + Rich command line pays.

Three commands, interleaved (one of each per round, in a rotating order), each a fresh
process; the median of ``--runs`` rounds and the ratio to the floor:

* ``floor``: a one-command Typer app printing its ``--help`` (imports Typer, Rich and what
  Typer's rich help loads: the least a Typer CLI with rich help can cost);
* ``imports``: ``import typer, rich.console`` alone;
* ``ctool --help``: ``python -m ctool --help``.

    .venv/bin/python benchmarks/startup.py --runs 20
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

FLOOR = """
import typer
app = typer.Typer(add_completion=False)
@app.command()
def one(x: int = 1) -> None:
    "One command."
@app.command()
def two(y: int = 1) -> None:
    "Another command."
import sys
sys.argv = ["floor", "--help"]
try:
    app()
except SystemExit:
    pass
"""

COMMANDS = {
    "floor": [sys.executable, "-c", FLOOR],
    "imports": [sys.executable, "-c", "import typer, rich.console"],
    "ctool --help": [sys.executable, "-m", "ctool", "--help"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    names = list(COMMANDS)
    for round_ in range(args.runs):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            start = time.perf_counter()
            subprocess.run(COMMANDS[name], check=True, capture_output=True)
            times[name].append((time.perf_counter() - start) * 1e3)
    floor = statistics.median(times["floor"])
    print(f"{args.runs} fresh processes each, interleaved; median (min .. max) ms")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"  {name:14s} {median:7.1f} ({min(values):.1f} .. {max(values):.1f})"
            f"  x{median / floor:.2f} of the floor"
        )


if __name__ == "__main__":
    main()
