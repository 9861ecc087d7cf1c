"""The CPUs a process may use: affinity, cgroup quota, OMP_NUM_THREADS; the bench's split."""

from pathlib import Path

import pytest

from mtneuro.threads import (
    available_cpus,
    cgroup_cpu_quota,
    idle_cpus,
    set_torch_threads,
    threads_per_job,
    usable_cpus,
)


def _write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


def test_affinity_without_quota_or_env(tmp_path):
    assert available_cpus(env={}, affinity=6, cgroup_root=tmp_path) == 6


@pytest.mark.parametrize(("cpu_max", "expected"), [
    ("200000 100000\n", 2),   # 2 CPUs
    ("150000 100000\n", 2),   # 1.5 CPUs: a second thread still gets half a CPU
    ("50000 100000\n", 1),    # half a CPU: at least one thread
    ("max 100000\n", 8),      # no quota: the affinity mask
])
def test_cgroup_v2_quota_caps_affinity(tmp_path, cpu_max, expected):
    _write(tmp_path, "cpu.max", cpu_max)
    assert available_cpus(env={}, affinity=8, cgroup_root=tmp_path) == expected


def test_cgroup_v1_quota(tmp_path):
    _write(tmp_path, "cpu,cpuacct/cpu.cfs_quota_us", "300000\n")
    _write(tmp_path, "cpu,cpuacct/cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_quota(tmp_path) == pytest.approx(3.0)
    assert available_cpus(env={}, affinity=16, cgroup_root=tmp_path) == 3
    _write(tmp_path, "cpu,cpuacct/cpu.cfs_quota_us", "-1\n")  # v1's "no quota"
    assert cgroup_cpu_quota(tmp_path) is None


SESSION = "0::/user.slice/user-1000.slice/session-2.scope\n"


def test_a_quota_on_a_parent_cgroup_limits_the_process(tmp_path):
    """systemd's ``CPUQuota=150%`` on the user's slice, nothing on the session itself."""
    _write(tmp_path, "user.slice/cpu.max", "150000 100000")
    _write(tmp_path, "user.slice/user-1000.slice/session-2.scope/cpu.max", "max 100000")
    assert cgroup_cpu_quota(tmp_path, membership=SESSION) == pytest.approx(1.5)
    assert cgroup_cpu_quota(tmp_path, membership="0::/\n") is None  # another cgroup


@pytest.mark.parametrize(("slice_max", "scope_max", "expected"), [
    ("400000 100000", "200000 100000", 2.0), ("100000 100000", "300000 100000", 1.0)])
def test_the_smallest_quota_on_the_way_down_wins(tmp_path, slice_max, scope_max, expected):
    _write(tmp_path, "cpu.max", "800000 100000")
    _write(tmp_path, "user.slice/user-1000.slice/cpu.max", slice_max)
    _write(tmp_path, "user.slice/user-1000.slice/session-2.scope/cpu.max", scope_max)
    assert cgroup_cpu_quota(tmp_path, membership=SESSION) == pytest.approx(expected)


def test_a_container_sees_its_own_limit_under_a_host_path(tmp_path):
    """Without a cgroup namespace the path names the host's tree, absent in the container."""
    _write(tmp_path, "cpu.max", "200000 100000")
    assert cgroup_cpu_quota(tmp_path, membership="0::/docker/0123abcd\n") == 2.0
    assert cgroup_cpu_quota(tmp_path, membership="0::/../../etc\n") == 2.0


def test_cgroup_v1_quota_of_the_cpu_controller_path(tmp_path):
    _write(tmp_path, "cpu,cpuacct/cpu.cfs_quota_us", "-1\n")
    _write(tmp_path, "cpu,cpuacct/cpu.cfs_period_us", "100000\n")
    _write(tmp_path, "cpu,cpuacct/batch/cpu.cfs_quota_us", "50000\n")
    _write(tmp_path, "cpu,cpuacct/batch/cpu.cfs_period_us", "100000\n")
    membership = "4:memory:/other\n3:cpu,cpuacct:/batch\n0::/\n"
    assert cgroup_cpu_quota(tmp_path, membership=membership) == pytest.approx(0.5)
    assert cgroup_cpu_quota(tmp_path, membership="4:memory:/batch\n") is None


def test_quota_above_affinity_keeps_affinity(tmp_path):
    _write(tmp_path, "cpu.max", "800000 100000")
    assert available_cpus(env={}, affinity=2, cgroup_root=tmp_path) == 2


@pytest.mark.parametrize(("value", "expected"), [("3", 3), ("1", 1), ("0", 2), ("", 2),
                                                 ("4,2", 2), ("many", 2)])
def test_omp_num_threads_wins_when_a_positive_integer(tmp_path, value, expected):
    _write(tmp_path, "cpu.max", "200000 100000")
    assert available_cpus(env={"OMP_NUM_THREADS": value}, affinity=8,
                          cgroup_root=tmp_path) == expected


def test_real_process_gets_at_least_one():
    assert available_cpus() >= 1


@pytest.mark.parametrize(("jobs", "cpus", "expected"), [(1, 8, 8), (2, 8, 4), (3, 8, 2),
                                                        (4, 2, 1), (16, 2, 1)])
def test_threads_per_job(jobs, cpus, expected):
    assert threads_per_job(jobs, cpus) == expected


def test_set_torch_threads():
    import torch

    before = torch.get_num_threads()
    try:
        assert set_torch_threads(1) == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_cli_sets_torch_threads_from_available_cpus(monkeypatch):
    """A torch command sets the threads before it runs (here it then fails on a bad flag)."""
    import torch

    from mtneuro.cli.main import main

    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    torch.set_num_threads(2)
    try:
        with pytest.raises(SystemExit):
            main(["task1", "--no-such-flag"])
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def _stat(*cpus: tuple[int, int]) -> str:
    """/proc/stat text: per CPU (busy, idle) jiffies as user and idle columns."""
    lines = ["cpu  1 2 3 4 5 6 7 8 0 0"]
    lines += [f"cpu{i} {busy} 0 0 {idle} 0 0 0 0 0 0" for i, (busy, idle) in enumerate(cpus)]
    return "\n".join([*lines, "intr 1 2 3", "procs_running 5"])


def test_idle_cpus_counts_idle_time_of_the_affinity_cpus_only():
    # cpu0 idle throughout, cpu1 busy throughout, cpu2 (outside the mask) idle
    samples = iter([_stat((0, 0), (0, 0), (0, 0)), _stat((0, 100), (100, 0), (0, 100))])
    assert idle_cpus(0, read=lambda: next(samples), cpus={0, 1}) == pytest.approx(1.0)
    samples = iter([_stat((0, 0), (0, 0)), _stat((50, 50), (100, 0))])  # cpu0 half busy
    assert idle_cpus(0, read=lambda: next(samples), cpus={0, 1}) == pytest.approx(0.5)


def test_idle_cpus_is_none_where_proc_stat_is_unreadable():
    def unreadable() -> str:
        raise OSError("no /proc")

    assert idle_cpus(0, read=unreadable, cpus={0}) is None


@pytest.mark.parametrize(("idle", "expected"), [(None, 2), (2.0, 2), (1.9, 2), (1.2, 1),
                                                (0.0, 1), (0.4, 1)])
def test_usable_cpus_leaves_busy_cores_to_others(monkeypatch, idle, expected):
    monkeypatch.setattr("mtneuro.threads.available_cpus", lambda env=None: 2)
    assert usable_cpus(env={}, idle=lambda: idle) == expected


@pytest.mark.parametrize(("idle", "expected"), [(2.5, 2), (3.5, 3), (3.51, 4), (1.5, 1)])
def test_usable_cpus_counts_half_an_idle_core_as_busy(monkeypatch, idle, expected):
    monkeypatch.setattr("mtneuro.threads.available_cpus", lambda env=None: 4)
    assert usable_cpus(env={}, idle=lambda: idle) == expected


def test_usable_cpus_takes_omp_num_threads_as_it_is():
    assert usable_cpus(env={"OMP_NUM_THREADS": "3"}, idle=lambda: 0.0) == 3


def test_usable_cpus_is_one_beside_spinning_processes():
    """Real /proc/stat: with a spinning process on every core, one thread is left."""
    import multiprocessing
    import os
    import time

    if not hasattr(os, "sched_getaffinity") or not os.path.exists("/proc/stat"):
        pytest.skip("needs Linux /proc/stat and sched_getaffinity")
    spinners = [multiprocessing.Process(target=_spin, daemon=True)
                for _ in range(len(os.sched_getaffinity(0)))]
    for process in spinners:
        process.start()
    try:
        time.sleep(0.3)
        assert usable_cpus(env={}) == 1
    finally:
        for process in spinners:
            process.terminate()


def _spin() -> None:
    while True:
        pass
