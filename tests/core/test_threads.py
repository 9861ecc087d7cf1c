"""The CPUs a process may use: affinity, cgroup quota, OMP_NUM_THREADS; the bench's split."""

from pathlib import Path

import pytest

from mtneuro.threads import available_cpus, cgroup_cpu_quota, set_torch_threads, threads_per_job


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
