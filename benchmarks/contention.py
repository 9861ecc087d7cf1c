"""How much slower a command runs beside busy processes than on an idle machine.

Runs the command idle, then with N busy-loop processes beside it (default 4; each spins
one core at 100 %), in the same invocation, and prints a markdown table of wall-clock
seconds: idle, loaded and their ratio. Issue 19's goal: loaded at most 3x idle.

    python benchmarks/contention.py -- mtneuro pretrain --quick --out /tmp/pt
    python benchmarks/contention.py --busy 4 --repeat 2 -- mtneuro bench --suite quick --out /tmp/q

``--spinners own-session`` starts the busy processes in one session of their own (as jobs
from another terminal), instead of this script's (as jobs from the same shell); with the
kernel's autogroup scheduling that changes the command's share of the CPUs, so both are
worth measuring (benchmarks/README.md). ``--label`` names the row. Run it on a machine with
nothing else running: "idle" means idle but for this script. The command's output goes to
``--log`` (default: discarded, but shown if the command fails). Linux / POSIX only.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence


_SPIN = "while True: pass"


def time_command(command: Sequence[str], log: str | None) -> float:
    """Wall-clock seconds of one run of ``command``; raises if it fails."""
    started = time.perf_counter()
    with open(log, "ab") if log else tempfile.TemporaryFile() as sink:
        finished = subprocess.run(list(command), stdout=sink, stderr=subprocess.STDOUT)
        if finished.returncode != 0:
            sink.seek(0, os.SEEK_END)
            sink.seek(max(0, sink.tell() - 2000))
            tail = sink.read().decode(errors="replace") if not log else f"(see {log})"
            raise SystemExit(f"{' '.join(command)} exited with {finished.returncode}:\n{tail}")
    return time.perf_counter() - started


def time_loaded(command: Sequence[str], busy: int, log: str | None, *,
                own_session: bool = False) -> float:
    """Seconds of ``command`` while ``busy`` spinning processes run beside it.

    ``own_session`` starts all spinners in one session of their own, as jobs started from
    another terminal are; with the kernel's autogroup scheduling on, the scheduler then
    shares the CPUs between sessions before it shares them between processes.
    """
    spinners = (
        f"import subprocess, sys\n"
        f"procs = [subprocess.Popen([sys.executable, '-c', {_SPIN!r}]) for _ in range({busy})]\n"
        f"[p.wait() for p in procs]\n"
    )
    # a process group of their own either way, so that one signal stops them all
    launcher = subprocess.Popen([sys.executable, "-c", spinners],
                                start_new_session=own_session,
                                process_group=None if own_session else 0)
    try:
        time.sleep(0.5)  # let the spinners reach full speed
        return time_command(command, log)
    finally:
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()


def _autogroup() -> str:
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as flag:
            return "on" if flag.read().strip() == "1" else "off"
    except OSError:
        return "unknown"


def table(label: str, idle: list[float], loaded: list[float], busy: int) -> str:
    """The markdown table: best of the repeats (least disturbed) for each condition."""
    best_idle, best_loaded = min(idle), min(loaded)
    return "\n".join([
        f"| command | idle s | loaded s ({busy} busy processes) | loaded / idle |",
        "|---|---:|---:|---:|",
        f"| {label} | {best_idle:.1f} | {best_loaded:.1f} | {best_loaded / best_idle:.1f}x |",
    ])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", type=int, default=4, help="busy-loop processes (default 4)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per condition (best kept)")
    parser.add_argument("--label", default=None, help="row name (default: the command)")
    parser.add_argument("--log", default=None, help="append the command's output here")
    parser.add_argument("--spinners", choices=("same-session", "own-session"),
                        default="same-session",
                        help="start the busy processes in this script's session (the worst "
                             "case: as if started from the same shell) or in their own (as "
                             "jobs from another terminal are)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to time after --")
    idle = [time_command(command, args.log) for _ in range(args.repeat)]
    own = args.spinners == "own-session"
    loaded = [time_loaded(command, args.busy, args.log, own_session=own)
              for _ in range(args.repeat)]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{platform.node()}: {cpus} CPUs usable, Python {platform.python_version()}, "
          f"{args.repeat} run(s) per condition, best kept; OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; spinners in {args.spinners}; "
          f"kernel autogroup {_autogroup()}")
    print(table(args.label or " ".join(command), idle, loaded, args.busy))


if __name__ == "__main__":
    sys.exit(main())
