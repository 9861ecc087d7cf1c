"""Samples/s of a MYOW training step: the mtneuro trainer's variants vs a straightforward loop.

Two workloads, each timed as a baseline and candidate rows in the same run:

* ``image``: MYOW (cascaded, separate pool batch) on 1-channel 128 x 128 crops of
  256 x 256 tiles with the MTNeuro X-ray ResNet-18 and 4096-wide heads, batch 64
  (``--small``: the quick preset's ``resnet-tiny``, widths 16..128, on 64 x 64 crops of
  128 x 128 tiles, 256-wide heads, batch 32, for a quick CPU run);
* ``neural``: MYOW on 100-neuron population vectors with the MLP encoder
  ``[100, 64, 64, 64] -> 64`` and MYOW's monkey heads, batch 512, in-batch mining, k=5.

Baseline (``ssl_loop_baseline.py``): a ``Dataset`` making each sample's views one at a
time (NumPy crops / per-sample neural dropout, pepper and noise) batched by a
``DataLoader``, SGD with ``foreach=False`` and a Python loop over parameters for the EMA
update.
Candidates: :class:`mtneuro.ssl.trainer.Trainer` with the settings of :data:`VARIANTS`
(``--variants``; ``--list`` prints them): the defaults, and one row per lever of
``mtneuro.acceleration`` (static step, CUDA graph, whole-step compile, fused target
views, fused SGD, host index copies). Without ``--variants`` the rows are the earlier
ones: ``candidate`` (the trainer's defaults in fp32), ``candidate-amp`` (bf16 autocast,
on CUDA, or with ``--cpu-bf16``), ``--compile`` and ``--ablate`` rows.

Each row: samples/s over ``--steps`` timed steps after ``--warmup`` untimed ones, its
ratio to the baseline, peak memory (CPU: each variant in its own spawned process, max
resident set; CUDA: ``torch.cuda.max_memory_allocated``), the wall time of the warm-up
steps (compilation, graph capture and cuDNN's algorithm search happen there) and
``dloss``: the largest absolute difference of the logged loss over the first
``--loss-steps`` steps from the ``eager-fp32`` row (every trainer row of a workload sees
the same batches, views and initial weights, so step 1 is the same batch through the
same weights). ``--json FILE`` appends one JSON line per row; rows of earlier runs in
that file give the baseline and the fp32 losses to rows of later runs (so a slow
variant can run in its own, time-limited process). A variant that fails prints its
error and the run goes on.

    python benchmarks/ssl_throughput.py --small                  # CPU, a few minutes
    python benchmarks/ssl_throughput.py --device cuda --variants baseline eager-fp32 cuda-graph
    python benchmarks/ssl_throughput.py --list
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import multiprocessing as mp
import os
import resource
import tempfile
import traceback
from pathlib import Path
from typing import Any

import torch
from ssl_loop_baseline import run_baseline  # this folder's sibling (scripts run from it)

from mtneuro import acceleration
from mtneuro.models.registry import create_encoder
from mtneuro.ssl.augment import mtneuro_view
from mtneuro.ssl.augment.neural import NeuralAugment
from mtneuro.ssl.myow import MYOW
from mtneuro.ssl.trainer import Trainer, TrainSettings
from mtneuro.threads import usable_cpus

NEURONS = 100


def workload(kind: str, small: bool, batch: int | None) -> dict[str, Any]:
    if kind == "neural":
        return {"batch": batch or 512, "encoder": ("mlp", {"in_dim": NEURONS}),
                "heads": {"projector_hidden": 0, "predictor_hidden": 256,
                          "mined_projector_hidden": 256, "mined_out": 32, "k": 5,
                          "loss_mix": "convex"}, "pool": False}
    if small:
        return {"batch": batch or 32, "tile": 128, "crop": 64,
                "encoder": ("resnet-tiny", {"in_channels": 1, "widths": [16, 32, 64, 128]}),
                "heads": {"projector_hidden": 256, "projector_out": 64, "predictor_hidden": 256,
                          "mined_projector_hidden": 256, "mined_out": 64}, "pool": True}
    return {"batch": batch or 64, "tile": 256, "crop": 128,
            "encoder": ("resnet18", {"in_channels": 1}), "heads": {}, "pool": True}


def make_data(kind: str, spec: dict[str, Any], n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind == "neural":
        return torch.poisson(torch.full((n, NEURONS), 5.0), generator=g)  # spike counts
    return torch.randint(0, 256, (n, 1, spec["tile"], spec["tile"]), generator=g, dtype=torch.uint8)


def make_method(spec: dict[str, Any], device: str, seed: int) -> MYOW:
    torch.manual_seed(seed)
    name, kwargs = spec["encoder"]
    return MYOW(create_encoder(name, **kwargs), **spec["heads"]).to(device)


# Each candidate row: trainer settings (the rest are the trainer's defaults), optimiser
# keyword arguments, and what it shows. "auto" amp is bf16 on CUDA and fp32 on CPU.
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    # the earlier rows (kept so that earlier figures can be re-measured)
    "candidate": ({"amp": "none"}, {}, "trainer defaults in fp32"),
    "candidate-amp": ({"amp": "bf16"}, {}, "trainer defaults, bf16 autocast"),
    "candidate-compile": ({"amp": "none", "compile": True}, {}, "fp32, compiled encoders"),
    "candidate-amp-compile": ({"amp": "bf16", "compile": True}, {}, "bf16, compiled encoders"),
    "candidate-nchw": ({"amp": "none", "channels_last": False}, {}, "fp32, channels-last off"),
    "candidate-no-retain": ({"amp": "none", "retain_cpu_memory": False}, {},
                            "fp32, retained CPU memory off"),
    # one row per lever
    "default": ({}, {}, "the trainer's defaults (step and compile 'auto': acceleration.AUTO_STEP)"),
    "eager-fp32": ({"amp": "none", "step": "eager"}, {}, "eager fp32: the dloss reference"),
    "eager": ({"step": "eager"}, {}, "eager step"),
    "eager-host-indices": ({"step": "eager", "prefetch_indices": False}, {},
                           "eager, indices copied from the host every step (before prefetch)"),
    "eager-fused-sgd": ({"step": "eager"}, {"fused": True}, "eager, torch's fused SGD kernel"),
    "static": ({"step": "static"}, {}, "static buffers + device-tensor schedules, no capture"),
    "static-fp32": ({"step": "static", "amp": "none"}, {}, "static step in fp32"),
    "cuda-graph": ({"step": "cuda_graph"}, {}, "whole step captured in a CUDA graph"),
    "cuda-graph-fp32": ({"step": "cuda_graph", "amp": "none"}, {}, "CUDA graph, fp32"),
    "third-view": ({"mining_view": "third"}, {},
                   "defaults, MYOW's query from a third view (tasks' paper preset; own dloss)"),
    "fuse-views": ({"step": "eager", "fuse_target_views": True}, {},
                   "one target forward for all views (NOT the MTNeuro protocol)"),
    "cuda-graph-fuse-views": ({"step": "cuda_graph", "fuse_target_views": True}, {},
                              "CUDA graph + fused target views (NOT the MTNeuro protocol)"),
    "compile-encoders": ({"step": "eager", "compile": True}, {}, "eager, compiled encoders"),
    "compile": ({"step": "static", "compile_mode": "max-autotune-no-cudagraphs"}, {},
                "whole step compiled, max-autotune-no-cudagraphs"),
    "compile-default": ({"step": "static", "compile_mode": "default"}, {},
                        "whole step compiled, default mode"),
    "cuda-graph-compile": ({"step": "cuda_graph", "compile_mode": "max-autotune-no-cudagraphs"},
                           {}, "compiled step captured in our CUDA graph"),
    "cuda-graph-compile-default": ({"step": "cuda_graph", "compile_mode": "default"}, {},
                                   "compiled (default mode) step in our CUDA graph"),
    "compile-max-autotune": ({"step": "static", "compile_mode": "max-autotune"}, {},
                             "whole step compiled, max-autotune (inductor's CUDA graphs)"),
    "compile-reduce-overhead": ({"step": "static", "compile_mode": "reduce-overhead"}, {},
                                "whole step compiled, reduce-overhead (inductor's CUDA graphs)"),
}
FP32_REFERENCE = "eager-fp32"


def run_candidate(kind: str, spec: dict[str, Any], args: argparse.Namespace,
                  variant: str) -> dict[str, Any]:
    """Samples/s of :class:`Trainer` steps (from its per-step log, warm-up steps excluded)."""
    overrides, optimizer_kwargs, _ = VARIANTS[variant]
    b, total = spec["batch"], args.warmup + args.steps
    data = make_data(kind, spec, b * total, args.seed)
    method = make_method(spec, args.device, args.seed)
    if kind == "neural":
        view = NeuralAugment(mean=data.mean(0).to(args.device),
                             std=data.std(0).clamp_min(1e-6).to(args.device))
    else:
        view = mtneuro_view(size=spec["crop"])
    optimizer = torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.01,
                                momentum=0.9, weight_decay=5e-4, **optimizer_kwargs)
    settings = TrainSettings(
        epochs=1, batch_size=b, lr=0.01, warmup_epochs=0, base_momentum=0.99, mined_weight=0.1,
        mined_rampup_epochs=0, pool_size=b if spec["pool"] else 0, seed=args.seed,
        # The loss read-back synchronises with the device; windows that divide both the
        # warm-up and the timed steps keep the timed window free of warm-up steps.
        log_every=math.gcd(args.warmup, args.steps), quiet=True, **overrides)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(method, optimizer, data, view, settings, out)
        result = trainer.fit()
        with open(f"{out}/train_log.jsonl") as handle:
            log = [json.loads(line) for line in handle]
    rates = [line["samples_per_s"] for line in log]
    graph = trainer.static.graph if trainer.static is not None else None
    return {
        "samples_per_s": args.steps * b / sum(b / r for r in rates[args.warmup:]),
        "warmup_s": sum(b / r for r in rates[:args.warmup]),
        "capture_s": graph.capture_s if graph is not None else None,
        "first_step_s": trainer.static.first_call_s if trainer.static is not None else None,
        "losses": [line["loss"] for line in log[:args.loss_steps]],
        "step_mode": result["step_mode"],
        "compile_mode": result["compile_mode"],
    }


def measure(kind: str, variant: str, args: argparse.Namespace) -> dict[str, Any]:
    """One row, errors included (a failing variant must not stop the others)."""
    torch.set_num_threads(args.threads)
    if args.compile_backend != "inductor":  # smoke runs: trace only
        backend = args.compile_backend
        acceleration.compile_function = lambda fn, mode: torch.compile(fn, backend=backend)
        in_place = torch.nn.Module.compile
        torch.nn.Module.compile = lambda module, *a, **k: in_place(module, backend=backend)
    spec = workload(kind, args.small, args.batch)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    try:
        if variant == "baseline":
            b, total = spec["batch"], args.warmup + args.steps
            row = run_baseline(kind, spec, make_data(kind, spec, b * total, args.seed),
                               make_method(spec, args.device, args.seed), args)
        else:
            row = run_candidate(kind, spec, args, variant)
    except Exception as err:  # noqa: BLE001 - reported in the row, the run goes on
        row = {"error": f"{type(err).__name__}: {err}".splitlines()[0][:300],
               "traceback": traceback.format_exc(limit=-4)}
    if args.device == "cuda":
        row["peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
        row["device_ok"] = _device_ok()
        gc.collect()
        torch.cuda.empty_cache()
    else:
        row["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB
    if "compile" in variant:
        torch._dynamo.reset()
    return row


def _device_ok() -> bool:
    """Whether the CUDA context still works after a row (a broken capture can poison it)."""
    try:
        torch.ones(1, device="cuda").add_(1)
        torch.cuda.synchronize()
        return True
    except Exception:  # noqa: BLE001
        return False


def _child(queue: Any, kind: str, variant: str, args: argparse.Namespace) -> None:
    queue.put(measure(kind, variant, args))


def measure_isolated(kind: str, variant: str, args: argparse.Namespace) -> dict[str, Any]:
    """On CPU in a fresh process, so peak RSS belongs to this variant alone."""
    if args.device == "cuda":
        return measure(kind, variant, args)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, kind, variant, args))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _earlier_rows(path: Path | None, key: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Rows of earlier runs in the JSON-lines file with the same workload and device."""
    rows: dict[str, dict[str, Any]] = {}
    if path is None or not path.is_file():
        return rows
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a killed run
        if all(row.get(k) == v for k, v in key.items()) and "error" not in row:
            rows[row["variant"]] = row
    return rows


def _loss_gap(row: dict[str, Any], reference: dict[str, Any] | None) -> float | None:
    if reference is None or not row.get("losses") or not reference.get("losses"):
        return None
    pairs = list(zip(row["losses"], reference["losses"]))
    return max(abs(a - b) for a, b in pairs) if pairs else None


def _format(label: str, variant: str, row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{label:<40} {variant:<26} FAILED {row['error']}"
    ratio = f"x{row['ratio']:5.2f}" if row.get("ratio") else "  x  - "
    gap = f"{row['dloss']:.1e}" if row.get("dloss") is not None else "-"
    warm = f"{row['warmup_s']:.1f}" if row.get("warmup_s") is not None else "-"
    cap = f", capture {row['capture_s']:.2f} s" if row.get("capture_s") else ""
    mode = ""
    if row.get("step_mode"):
        compiled = f", {row['compile_mode']}" if row.get("compile_mode") else ""
        mode = f"  [{row['step_mode']}{compiled}]"
    return (f"{label:<40} {variant:<26} {row['samples_per_s']:10.2f} samples/s  {ratio}  "
            f"peak {row['peak_mb']:8.0f} MiB  warm-up {warm} s{cap}  dloss {gap}{mode}")


def _default_variants(args: argparse.Namespace) -> list[str]:
    amp_row = args.device == "cuda" or args.cpu_bf16
    variants = ["baseline", "candidate"] + (["candidate-amp"] if amp_row else [])
    if args.compile:
        variants.append("candidate-amp-compile" if amp_row else "candidate-compile")
    if args.ablate:
        variants += ["candidate-nchw", "candidate-no-retain"]
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["image", "neural"],
                        choices=["image", "neural"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batch", type=int, default=None, help="override the batch size")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--small", action="store_true", help="small image model (quick CPU run)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: the CPUs free now, as the commands' "
                             "default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", nargs="+", choices=["baseline", *VARIANTS],
                        help="rows to run, in this order (default: the earlier rows)")
    parser.add_argument("--list", action="store_true", help="print the variants and exit")
    parser.add_argument("--json", type=Path, help="append one JSON line per row to this file")
    parser.add_argument("--loss-steps", type=int, default=3,
                        help="steps compared with the eager-fp32 row (dloss)")
    parser.add_argument("--compile-backend", default="inductor",
                        help="torch.compile backend of the compile rows (aot_eager: smoke runs)")
    parser.add_argument("--cpu-bf16", action="store_true", help="add the bf16 row on CPU")
    parser.add_argument("--compile", action="store_true",
                        help="add a row with torch.compile'd encoders, bf16 where the bf16 row "
                             "runs, else fp32 (compile time is in the warm-up steps, not in the "
                             "timed ones)")
    parser.add_argument("--ablate", action="store_true",
                        help="add fp32 rows without channels-last and without retained CPU memory")
    args = parser.parse_args()
    if args.threads is None:
        args.threads = usable_cpus()
    if args.list:
        for name, (overrides, opt, note) in VARIANTS.items():
            print(f"{name:<28} {note}; settings {overrides}" + (f", SGD {opt}" if opt else ""))
        return
    name = torch.cuda.get_device_name() if args.device == "cuda" else f"cpu x{args.threads} threads"
    print(f"ssl_throughput: device {name}, float32 (amp 'auto' rows: bfloat16 on CUDA), seed "
          f"{args.seed}, {args.warmup} warm-up + {args.steps} timed steps, torch "
          f"{torch.__version__}, auto step {acceleration.AUTO_STEP}", flush=True)
    _say_if_busy(args.device)
    variants = args.variants or _default_variants(args)
    for kind in args.workloads:
        spec = workload(kind, args.small, args.batch)
        key = {"workload": kind, "batch": spec["batch"], "small": args.small, "device": name}
        label = f"{kind} ({spec['encoder'][0]}, batch {spec['batch']}" + (
            f", {spec['crop']}x{spec['crop']} crops)" if kind == "image" else ")")
        rows = _earlier_rows(args.json, key)
        for variant in variants:
            row = {**key, "variant": variant, "steps": args.steps, "warmup": args.warmup,
                   "torch": torch.__version__, **measure_isolated(kind, variant, args)}
            if "error" not in row:
                rows[variant] = row
                base = rows.get("baseline")
                row["ratio"] = row["samples_per_s"] / base["samples_per_s"] if base else None
                row["dloss"] = _loss_gap(row, rows.get(FP32_REFERENCE))
            print(_format(label, variant, row), flush=True)
            if args.json is not None:
                with args.json.open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
            if row.get("device_ok") is False:
                print(f"the CUDA context no longer works after {variant}: stopping this run",
                      flush=True)
                raise SystemExit(3)


def _say_if_busy(device: str) -> None:
    """Variants run one after another, so on a CPU shared with other work their ratios move
    with its load (x0.05 and x30 for one workload, measured on a loaded 2-core machine)."""
    if device == "cuda" or not hasattr(os, "getloadavg"):
        return
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    print(f"load average {load:.1f} on {cores} cores", flush=True)
    if load > 0.5 * cores:
        print("warning: the machine is busy; the variants run one after the other, so their "
              "ratios follow the load: rerun on an idle machine before trusting them", flush=True)


if __name__ == "__main__":
    main()
