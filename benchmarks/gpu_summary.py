"""Read the rows of ``ssl_throughput.py --json`` (and the reference harness's output) back.

``table``: one table per workload and batch size: each variant's samples/s, its ratio to
the straightforward loop (``x base``), to the trainer's current default (``x default``)
and to the MTNeuro reference trainer (``x ref``, when its ``RESULT`` lines are given),
peak memory, warm-up seconds (compilation, capture) and ``dloss`` (largest loss
difference from the fp32 eager step over the first steps, the same batches). Then, per
batch size, the fastest variant that keeps the MTNeuro protocol and ``dloss`` within
``--tolerance``, and the issue's goals (2,000 samples/s at batch 64, 800 and no slower
than the straightforward loop at batch 8).

``best``: that fastest variant's trainer settings as YAML lines (a ``mtneuro pretrain
--config`` file), or nothing when no row qualifies.

    python benchmarks/gpu_summary.py table --json runs/gpu/ssl.jsonl --reference runs/gpu/ref.txt
    python benchmarks/gpu_summary.py best --json runs/gpu/ssl.jsonl --batch 64 > best.yaml
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ssl_throughput import VARIANTS  # noqa: E402  (the variants' settings)

#: Variants that change what is computed (not the MTNeuro protocol): never picked.
PROTOCOL_CHANGES = ("fuse-views",)
#: Trainer settings a pretrain config may carry (the rest are benchmark-only).
CONFIG_KEYS = ("amp", "channels_last", "compile", "step", "compile_mode", "fuse_target_views",
               "prefetch_indices")
GOALS = {64: 2000.0, 8: 800.0}


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a killed run
    return rows


def read_reference(path: Path | None) -> dict[int, float]:
    """Samples/s of the reference harness by batch size, from its ``RESULT {json}`` lines."""
    out: dict[int, float] = {}
    if path is None or not path.is_file():
        return out
    for line in path.read_text().splitlines():
        if line.startswith("RESULT "):
            try:
                result = json.loads(line[len("RESULT "):])
                out[int(result["batch"])] = float(result["samples_per_s"])
            except (json.JSONDecodeError, KeyError, ValueError):
                continue
    return out


def eligible(row: dict[str, Any], tolerance: float) -> bool:
    """A candidate for the default: measured, same protocol, losses within tolerance."""
    name = row["variant"]
    if "error" in row or name == "baseline" or name not in VARIANTS:
        return False
    if any(mark in name for mark in PROTOCOL_CHANGES) or name.endswith("fp32"):
        return False
    if VARIANTS[name][1]:  # optimiser options a pretrain config cannot carry
        return False
    return row.get("dloss") is not None and row["dloss"] <= tolerance


def best_row(rows: list[dict[str, Any]], workload: str, batch: int,
             tolerance: float) -> dict[str, Any] | None:
    pool = [r for r in rows if r.get("workload") == workload and r.get("batch") == batch
            and eligible(r, tolerance)]
    return max(pool, key=lambda r: r["samples_per_s"], default=None)


def table(rows: list[dict[str, Any]], reference: dict[int, float], tolerance: float) -> str:
    lines = []
    groups: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for row in rows:  # a later row of the same variant (a re-run) replaces an earlier one
        groups.setdefault((row["workload"], row["batch"]), {})[row["variant"]] = row
    for (workload, batch), by_name in groups.items():
        base = by_name.get("baseline", {}).get("samples_per_s")
        default = by_name.get("default", {}).get("samples_per_s")
        ref = reference.get(batch) if workload == "image" else None
        lines.append(f"\n{workload}, batch {batch}" + (f"  (reference trainer {ref:.0f} samples/s)"
                                                         if ref else ""))
        lines.append(f"{'variant':<28}{'samples/s':>11}{'x base':>8}{'x default':>10}{'x ref':>7}"
                     f"{'peak MiB':>10}{'warm-up s':>10}{'dloss':>9}  mode")
        for name, row in by_name.items():
            if "error" in row:
                lines.append(f"{name:<28}  FAILED {row['error'][:90]}")
                continue
            rate = row["samples_per_s"]

            def ratio(other: float | None) -> str:
                return f"{rate / other:.2f}" if other else "-"

            dloss = f"{row['dloss']:.1e}" if row.get("dloss") is not None else "-"
            warm = f"{row['warmup_s']:.1f}" if row.get("warmup_s") is not None else "-"
            mode = row.get("step_mode") or ""
            if row.get("compile_mode"):
                mode += f", {row['compile_mode']}"
            peak = row.get("peak_mb", 0)
            lines.append(f"{name:<28}{rate:>11.1f}{ratio(base):>8}{ratio(default):>10}"
                         f"{ratio(ref):>7}{peak:>10.0f}{warm:>10}{dloss:>9}  {mode}")
        if workload != "image":
            continue
        best = best_row(rows, workload, batch, tolerance)
        if best is None:
            lines.append(f"fastest within the protocol and dloss <= {tolerance}: none measured")
            continue
        goal = GOALS.get(batch)
        verdict = ""
        if goal:
            met = best["samples_per_s"] >= goal and (base is None or best["samples_per_s"] >= base)
            verdict = f"; goal {goal:.0f} samples/s{' and >= baseline' if batch == 8 else ''}: " \
                      f"{'met' if met else 'NOT met'}"
        lines.append(f"fastest within the protocol and dloss <= {tolerance}: {best['variant']} "
                     f"{best['samples_per_s']:.1f} samples/s{verdict}")
    return "\n".join(lines)


def best_yaml(row: dict[str, Any] | None) -> str:
    if row is None:
        return ""
    settings = {k: v for k, v in VARIANTS[row["variant"]][0].items() if k in CONFIG_KEYS}
    lines = [f"# fastest measured variant: {row['variant']} ({row['samples_per_s']:.1f} samples/s)"]
    for key, value in settings.items():
        lines.append(f"{key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["table", "best"])
    parser.add_argument("--json", type=Path, required=True, help="ssl_throughput.py --json file")
    parser.add_argument("--reference", type=Path, help="output of the reference harness")
    parser.add_argument("--batch", type=int, default=64, help="best: the batch size")
    parser.add_argument("--workload", default="image", help="best: the workload")
    parser.add_argument("--tolerance", type=float, default=0.05,
                        help="largest dloss of a variant that may become the default")
    args = parser.parse_args()
    rows = read_rows(args.json)
    if not rows:
        sys.exit(f"{args.json}: no rows of ssl_throughput.py --json "
                 f"({'empty or unreadable' if args.json.is_file() else 'no such file'})")
    if args.command == "best":
        row = best_row(rows, args.workload, args.batch, args.tolerance)
        if row is None:  # stdout stays empty: gpu_checks.sh then keeps the trainer's defaults
            print(f"no eligible {args.workload} variant at batch {args.batch} in {args.json}",
                  file=sys.stderr)
        sys.stdout.write(best_yaml(row))
    else:
        print(table(rows, read_reference(args.reference), args.tolerance))


if __name__ == "__main__":
    main()
