"""How many CPU threads a process should use: the CPUs it may actually run on.

``os.cpu_count()`` counts the machine's cores, not the ones this process gets. Torch
starts that many intra-op threads; in a container with a CPU quota, under ``taskset``,
or beside other busy processes, the extra threads only wait for each other (on a shared
2-core laptop with 4 busy processes, ``pretrain --quick`` took 148 s with the default
threads and 45 s with one). :func:`available_cpus` takes the smallest of

* the CPU affinity mask (``os.sched_getaffinity``),
* the cgroup CPU quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``)
  of the process's own cgroup and every cgroup above it, the smallest, rounded up,

and ``OMP_NUM_THREADS``, when set to a positive integer, wins over both (the user asked).

Cores that other processes keep busy are not available either: two threads on two cores
shared with four spinning processes wait for each other at every parallel region
(``pretrain --quick`` 12.9 s idle, 101 s so loaded; 39 s with one thread). So
:func:`usable_cpus`, which commands use, also leaves out the CPUs of the affinity mask
that were busy during a short sample of ``/proc/stat`` at start (Linux; elsewhere, or
when ``OMP_NUM_THREADS`` is set, it is :func:`available_cpus`). macOS's load average
(``os.getloadavg``) is no stand-in: it averages the runnable threads of the last minute,
processes that have ended included, so a command started right after another one (a
``pretrain`` then a ``task1``) would count the finished one's cores as busy and run on one
thread on an idle machine. Every CLI command sets
torch's threads from it (:func:`set_torch_threads`), and ``mtneuro bench --jobs J`` gives
each cell :func:`threads_per_job`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _cgroup_v2_quota(folder: Path) -> float | None:
    """CPUs allowed by ``cpu.max`` (``"<quota> <period>"`` or ``"max <period>"``)."""
    try:
        fields = (folder / "cpu.max").read_text(encoding="utf-8").split()
    except OSError:
        return None
    if len(fields) != 2 or fields[0] == "max":
        return None
    try:
        quota, period = int(fields[0]), int(fields[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _cgroup_v1_quota(folder: Path) -> float | None:
    """CPUs allowed by ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (quota -1: none)."""
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text(encoding="utf-8").strip())
        period = int((folder / "cpu.cfs_period_us").read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def _own_cgroups(membership: str) -> tuple[str, str]:
    """The process's cgroup v2 path and its v1 ``cpu`` controller path (``""``: unknown),
    from the text of ``/proc/self/cgroup`` (``hierarchy:controllers:path`` lines)."""
    unified = cpu = ""
    for line in membership.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and not controllers:
            unified = path
        elif "cpu" in controllers.split(","):
            cpu = path
    return unified, cpu


def _chain(mount: Path, path: str) -> list[Path]:
    """``mount`` and every folder from it down to the process's own cgroup ``path``.

    A quota on any of them limits the process (a systemd unit's ``CPUQuota`` sits on a
    parent slice). Inside a container the path names the host's tree, absent here: those
    folders read as no quota, and the container's own limit at ``mount`` still counts."""
    parts = [part for part in path.split("/") if part not in ("", ".", "..")]
    return [mount.joinpath(*parts[:depth]) for depth in range(len(parts) + 1)]


def _smallest(quotas: list[float | None]) -> float | None:
    known = [quota for quota in quotas if quota is not None]
    return min(known) if known else None


def cgroup_cpu_quota(root: str | Path = CGROUP_ROOT,
                     membership: str | None = None) -> float | None:
    """CPUs the cgroup quota allows (may be fractional), or ``None`` without a quota.

    The smallest quota of the process's cgroup and those above it, v2 (``cpu.max``) first,
    else v1 (``cpu.cfs_quota_us`` under ``cpu/``, ``cpu,cpuacct/`` or ``root`` itself).
    ``membership`` is the text of ``/proc/self/cgroup`` (read when ``None``).
    """
    root = Path(root)
    if membership is None:
        try:
            membership = Path("/proc/self/cgroup").read_text(encoding="utf-8")
        except OSError:
            membership = ""
    unified, cpu = _own_cgroups(membership)
    quota = _smallest([_cgroup_v2_quota(folder) for folder in _chain(root, unified)])
    if quota is not None:
        return quota
    for mount in (root / "cpu", root / "cpu,cpuacct", root):
        if (mount / "cpu.cfs_quota_us").exists():
            return _smallest([_cgroup_v1_quota(folder) for folder in _chain(mount, cpu)])
    return None


def _affinity_count() -> int | None:
    getter: Callable[[int], set[int]] | None = getattr(os, "sched_getaffinity", None)
    return len(getter(0)) if getter is not None else None  # not on macOS / Windows


def _omp_threads(env: Mapping[str, str]) -> int | None:
    try:
        value = int(env.get("OMP_NUM_THREADS", "").strip())
    except ValueError:
        return None  # unset, empty or not a number ("4,2" nesting lists): not ours to read
    return value if value > 0 else None


def available_cpus(*, env: Mapping[str, str] | None = None, affinity: int | None = None,
                   cgroup_root: str | Path = CGROUP_ROOT) -> int:
    """The CPU threads this process should use (at least 1).

    Args:
        env: environment to read ``OMP_NUM_THREADS`` from (default ``os.environ``).
        affinity: CPUs in the affinity mask (default: ``os.sched_getaffinity(0)``,
            or ``os.cpu_count()`` where the platform has no affinity call).
        cgroup_root: where the cgroup files are (tests point it at a fake tree).
    """
    requested = _omp_threads(os.environ if env is None else env)
    if requested is not None:
        return requested
    cpus = affinity if affinity is not None else (_affinity_count() or os.cpu_count() or 1)
    quota = cgroup_cpu_quota(cgroup_root)
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def _cpu_times(stat: str, cpus: set[int]) -> tuple[float, float]:
    """(idle, total) jiffies of ``cpus`` summed from the text of ``/proc/stat``."""
    idle = total = 0.0
    for line in stat.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or not name[3:].isdigit() or int(name[3:]) not in cpus:
            continue
        values = [float(v) for v in rest.split()]
        idle += values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
        total += sum(values[:8])  # without guest time, already counted in user
    return idle, total


def idle_cpus(sample_s: float = 0.15, *, read: Callable[[], str] | None = None,
              cpus: set[int] | None = None) -> float | None:
    """How many CPUs of the affinity mask sat idle during ``sample_s`` seconds (from
    ``/proc/stat``), or ``None`` where that cannot be read."""
    if cpus is None:
        getter = getattr(os, "sched_getaffinity", None)
        if getter is None:
            return None
        cpus = set(getter(0))
    read = read or Path("/proc/stat").read_text
    try:
        idle0, total0 = _cpu_times(read(), cpus)
        time.sleep(sample_s)
        idle1, total1 = _cpu_times(read(), cpus)
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    return len(cpus) * (idle1 - idle0) / (total1 - total0)


def usable_cpus(*, env: Mapping[str, str] | None = None,
                idle: Callable[[], float | None] = idle_cpus) -> int:
    """:func:`available_cpus` less the CPUs other processes keep busy right now (at least 1).

    ``OMP_NUM_THREADS``, when set, is taken as it is.
    """
    env = os.environ if env is None else env
    cpus = available_cpus(env=env)
    if _omp_threads(env) is not None:
        return cpus
    free = idle()
    if free is None:
        return cpus
    # Half an idle core counts as busy (2.5 idle CPUs give 2 threads, 3.5 give 3; ``round``
    # went to even, 2 and 4): a thread on a shared core stalls every parallel region.
    return max(1, min(cpus, math.ceil(free - 0.5)))


def threads_per_job(jobs: int, cpus: int | None = None) -> int:
    """Threads for each of ``jobs`` processes sharing ``cpus`` (default
    :func:`usable_cpus`): ``max(1, cpus // jobs)``."""
    cpus = usable_cpus() if cpus is None else cpus
    return max(1, cpus // max(1, jobs))


def set_torch_threads(threads: int | None = None) -> int:
    """Set torch's intra-op and inter-op threads to ``threads`` (default
    :func:`usable_cpus`); returns the count.

    Inter-op threads can be set once per process, before any parallel work: a later call
    (a second command run in the same process, as tests do) keeps the first value.
    """
    import torch

    threads = usable_cpus() if threads is None else max(1, int(threads))
    torch.set_num_threads(threads)
    if torch.get_num_interop_threads() != threads:
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # already set, or parallel work started: torch allows it once
            pass
    limit_blas_threads(threads)
    return threads


def limit_blas_threads(threads: int) -> None:
    """Cap the thread pool of numpy's BLAS (OpenBLAS, MKL) at ``threads``: it sizes itself to
    every core when numpy loads, so without this a one-thread bench worker multiplies
    matrices (the phantom's rendering) on two threads beside its neighbour, and a command on
    a loaded machine on as many threads as it has cores. A BLAS loaded later (SciPy ships its
    own OpenBLAS, which scikit-learn's least squares use) reads ``OPENBLAS_NUM_THREADS`` when
    it loads: that is set to the same cap (for this process and the workers it starts), or
    kept where the user set a lower one."""
    import numpy  # noqa: F401 - loads the BLAS, so that the limit reaches it
    from threadpoolctl import threadpool_limits

    threads = max(1, int(threads))
    given = os.environ.get("OPENBLAS_NUM_THREADS", "")
    if given.isdigit() and int(given) >= 1:  # the user's own cap stays, where it is lower
        threads = min(threads, int(given))
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    threadpool_limits(limits=threads, user_api="blas")


def torch_threads() -> int | None:
    """Torch's intra-op threads in this process (``None`` if torch is not imported), for a
    run's record: float results on CPU can differ in the last bits with the thread count."""
    import sys

    torch = sys.modules.get("torch")
    return None if torch is None else int(torch.get_num_threads())


def resume_torch_threads(saved: int | None, what: str) -> None:
    """Use the torch thread count a checkpoint was written with (``saved``; ``None`` for an
    older checkpoint): CPU float sums depend on it, so a resumed run ends bit-identical to
    an uninterrupted one only with the same count. Says so on stderr when it changes."""
    import sys

    import torch

    if saved and saved != torch.get_num_threads():
        print(f"resuming {what} with its {saved} torch threads (not {torch.get_num_threads()})",
              file=sys.stderr)
        torch.set_num_threads(int(saved))
