"""What attaching costs the target: ``ctool profile --pid`` at 100 Hz against no attach.

The target (written to a scratch file) is an asyncio program doing a fixed amount of work --
a CPU-bound function and short awaits on its loop, so that the loop's selector runs too --
started only when told "go" on stdin, and it prints its own elapsed time. Each pair runs it
once unattached and once with py-spy recording it exactly as ``ctool profile --pid`` does
(``ctool.attach.record.record_argv``: ``--idle --nonblocking``, speedscope), the order
alternating pair by pair (ABBA). The attached run starts its work once py-spy says it is
sampling. Printed: each pair's ratios attached / unattached of the target's wall time and
of its own CPU time (``time.process_time``: what the attach adds to the target's work,
free of the machine's scheduling noise), their medians, and the 95 % t interval of the
mean log ratio. Not a test: a measurement of this machine.

    .venv/bin/python benchmarks/attach_overhead.py --pairs 12 --rate 100
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ctool.attach.record import record_argv
from ctool.profilers.pyspy import find_binary

TARGET = """
import asyncio, sys, time

def work(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total

async def main(rounds):
    for _ in range(rounds):
        work(20_000)
        await asyncio.sleep(0)

sys.stdin.readline()
start, cpu = time.perf_counter(), time.process_time()
asyncio.run(main(int(sys.argv[1])))
print(time.perf_counter() - start, time.process_time() - cpu, flush=True)
"""
T_975 = {
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
    11: 2.201,
    12: 2.179,
    13: 2.160,
    14: 2.145,
    15: 2.131,
    19: 2.093,
    24: 2.064,
    29: 2.045,
}


def run_once(
    script: Path,
    rounds: int,
    *,
    attach: bool,
    rate: int,
    scratch: Path,
    nice: int = 0,
    spy_nice: int = 0,
) -> tuple[float, float, float]:
    """(wall s, CPU s) the target took for its work, and py-spy's CPU s meanwhile."""
    niced = (lambda: os.nice(nice)) if nice else None
    spy_niced = (lambda: os.nice(spy_nice)) if spy_nice else None
    target = subprocess.Popen(
        [sys.executable, str(script), str(rounds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=niced,
    )
    assert target.stdin is not None and target.stdout is not None
    spy = None
    if attach:
        binary = find_binary()
        assert binary is not None, "py-spy not found"
        argv = record_argv(binary, target.pid, duration_s=600, rate=rate, path=scratch / "spy.json")
        spy = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=spy_niced
        )
        assert spy.stdout is not None
        sampling = threading.Event()

        def read() -> None:
            assert spy is not None and spy.stdout is not None
            for line in spy.stdout:
                if "Sampling process" in line:
                    sampling.set()

        threading.Thread(target=read, daemon=True).start()
        if not sampling.wait(15):
            raise SystemExit("py-spy did not start sampling")
        spy_cpu0 = cpu_seconds(spy.pid)
    target.stdin.write("go\n")
    target.stdin.flush()
    wall, cpu = (float(v) for v in target.stdout.readline().split())
    spy_cpu = 0.0
    if spy is not None:
        spy_cpu = cpu_seconds(spy.pid) - spy_cpu0
    target.wait()
    if spy is not None:
        spy.wait(timeout=30)
    return wall, cpu, spy_cpu


def cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def interval(ratios: list[float]) -> str:
    """Median, geometric mean and its 95 % t interval of the ratios."""
    logs = [math.log(r) for r in ratios]
    mean = statistics.fmean(logs)
    half = T_975.get(len(logs) - 1, 2.0) * statistics.stdev(logs) / math.sqrt(len(logs))
    return (
        f"median {statistics.median(ratios):.4f}; mean {math.exp(mean):.4f}, "
        f"95% t interval [{math.exp(mean - half):.4f}, {math.exp(mean + half):.4f}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1500, help="work units per run")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the target and py-spy at this niceness (root: negative values cut the "
        "noise of a shared machine; both sides alike)",
    )
    parser.add_argument(
        "--spy-nice",
        type=int,
        default=None,
        help="py-spy's niceness [default: the same as --nice]",
    )
    args = parser.parse_args()
    spy_nice = args.nice if args.spy_nice is None else args.spy_nice
    walls: list[float] = []
    cpus: list[float] = []
    spies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        script = scratch / "target.py"
        script.write_text(TARGET)
        run_once(script, 50, attach=False, rate=args.rate, scratch=scratch)  # warm caches
        for pair in range(args.pairs):
            order = (False, True) if pair % 2 == 0 else (True, False)
            times = {
                a: run_once(
                    script,
                    args.rounds,
                    attach=a,
                    rate=args.rate,
                    scratch=scratch,
                    nice=args.nice,
                    spy_nice=spy_nice,
                )
                for a in order
            }
            walls.append(times[True][0] / times[False][0])
            cpus.append(times[True][1] / times[False][1])
            spies.append(times[True][2] / times[True][0])
            print(
                f"pair {pair + 1:2d}: wall {times[False][0]:.3f} -> {times[True][0]:.3f} s "
                f"({walls[-1]:.4f}), CPU {times[False][1]:.3f} -> {times[True][1]:.3f} s "
                f"({cpus[-1]:.4f}), py-spy {100 * spies[-1]:.1f} % of a core",
                flush=True,
            )
            time.sleep(0.2)
    print(
        f"\n{len(walls)} pairs at {args.rate} Hz (nice {args.nice}, py-spy {spy_nice}), "
        "attached / unattached, "
        "same work:"
    )
    print(f"  wall time: {interval(walls)}")
    print(f"  CPU time:  {interval(cpus)}")
    print(
        f"  py-spy's own CPU while attached: median {100 * statistics.median(spies):.1f} % "
        "of a core"
    )


if __name__ == "__main__":
    main()
