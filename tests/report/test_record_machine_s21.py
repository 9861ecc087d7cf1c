"""Every record names the CPU and torch it was made with: trained numbers repeat to the last
digit only on the same CPU family and versions, and a user comparing a run with a documented
table must be able to tell (docs/neural.md)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from mtneuro.machine import cpu_model
from mtneuro.report.results import write_metrics


def test_the_cpu_model_is_read_with_torchs_kernel_capability(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Example CPU 9000\n"
                    "flags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: Example CPU 9000\n")
    capability = torch.backends.cpu.get_cpu_capability()
    assert cpu_model(info) == f"Example CPU 9000 ({capability})"
    # no such file (not Linux): platform's name, never an empty one
    assert cpu_model(tmp_path / "absent").endswith(f" ({capability})")
    assert not cpu_model(tmp_path / "absent").startswith(" (")


def test_a_record_names_its_cpu_and_torch(tmp_path: Path) -> None:
    record = json.loads(write_metrics(tmp_path, task="pretrain", metrics={}).read_text())
    assert record["torch"] == torch.__version__
    assert record["cpu"] == cpu_model()
