"""Known answers for the CPUs a process may use: cgroup v1 layouts and v2 precedence,
OMP_NUM_THREADS above the mask, /proc/stat columns, the bench's per-job share (from a
mutation audit of mtneuro.threads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtneuro import threads
from mtneuro.threads import available_cpus, cgroup_cpu_quota, idle_cpus, threads_per_job


def _write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


@pytest.mark.parametrize("folder", ["cpu/", "cpu,cpuacct/", ""])
def test_cgroup_v1_quota_in_each_layout(tmp_path: Path, folder: str) -> None:
    _write(tmp_path, folder + "cpu.cfs_quota_us", "250000\n")
    _write(tmp_path, folder + "cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_quota(tmp_path) == pytest.approx(2.5)


def test_cgroup_v2_wins_over_v1(tmp_path: Path) -> None:
    _write(tmp_path, "cpu.max", "100000 100000\n")
    _write(tmp_path, "cpu/cpu.cfs_quota_us", "400000\n")
    _write(tmp_path, "cpu/cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_quota(tmp_path) == pytest.approx(1.0)


@pytest.mark.parametrize("cpu_max", ["0 100000", "-1 100000", "100000 0", "a b", "1 2 3"])
def test_a_cpu_max_that_sets_no_quota_is_none(tmp_path: Path, cpu_max: str) -> None:
    _write(tmp_path, "cpu.max", cpu_max)
    assert cgroup_cpu_quota(tmp_path) is None
    assert available_cpus(env={}, affinity=3, cgroup_root=tmp_path) == 3


def test_omp_num_threads_wins_even_above_the_affinity_mask(tmp_path: Path) -> None:
    """The user asked for it (documented: it wins over both)."""
    assert available_cpus(env={"OMP_NUM_THREADS": "16"}, affinity=8, cgroup_root=tmp_path) == 16


def _line(cpu: int, user: int, idle: int, iowait: int = 0, guest: int = 0) -> str:
    # user nice system idle iowait irq softirq steal guest guest_nice
    return f"cpu{cpu} {user} 0 0 {idle} {iowait} 0 0 0 {guest} 0"


def test_idle_cpus_counts_iowait_as_idle_and_guest_time_once() -> None:
    """cpu0: 50 idle + 50 iowait of 100; cpu1: 100 user of which 80 guest (already in user)."""
    before = "\n".join(["cpu  0 0 0 0", _line(0, 0, 0), _line(1, 0, 0)])
    after = "\n".join(["cpu  0 0 0 0", _line(0, 0, 50, iowait=50), _line(1, 100, 0, guest=80)])
    samples = iter([before, after])
    assert idle_cpus(0, read=lambda: next(samples), cpus={0, 1}) == pytest.approx(1.0)


def test_idle_cpus_is_none_when_no_time_passed() -> None:
    text = "\n".join([_line(0, 5, 5)])
    assert idle_cpus(0, read=lambda: text, cpus={0}) is None


def test_threads_per_job_shares_the_usable_cpus_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cores other processes keep busy are not shared out (usable, not available, CPUs)."""
    monkeypatch.setattr(threads, "usable_cpus", lambda: 4)
    monkeypatch.setattr(threads, "available_cpus", lambda **_: 8)
    assert threads_per_job(2) == 2


def test_set_torch_threads_takes_at_least_one() -> None:
    import torch

    before = torch.get_num_threads()
    try:
        assert threads.set_torch_threads(0) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
