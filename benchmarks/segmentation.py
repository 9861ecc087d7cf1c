"""Throughput and memory of every task-2 segmentation model.

For each model: training samples/s (forward + backward + AdamW step on random
crops), inference tiles/s (no-grad forward on whole 256 x 256 tiles or
8 x 256 x 256 blocks) and peak memory, each model in a fresh process so the
peak is its own (CPU: max resident set of that process, including the
interpreter and libraries; CUDA: ``torch.cuda.max_memory_allocated``).
The baseline is the MTNeuro 2D U-Net measured in the same run; every row shows
its ratio to it.

``--train-variants`` adds, per model, training rows driven another way, each with its
ratio to that model's eager step (same process, same inputs):

- ``graph``: the whole training step (forward, loss, backward, AdamW with
  ``capturable=True`` and a tensor learning rate) captured in a CUDA graph by
  :class:`mtneuro.acceleration.GraphedStep` after 3 warm-up steps, then replayed;
- ``compile``: the model ``torch.compile``'d (``--compile-mode``, default
  ``max-autotune-no-cudagraphs``), the rest eager; its compile time is printed;
- ``graph-compile``: both.

The task-2 trainer (``mtneuro.tasks.segmentation.train``) would need, for ``graph``: a
static crop buffer filled in place each step, its learning-rate schedule written into a
0-dim tensor (AdamW ``capturable=True``), and no loss read-back inside the step.

    python benchmarks/segmentation.py                       # all models, CPU
    python benchmarks/segmentation.py --models unet,unet3d --small
    python benchmarks/segmentation.py --device cuda         # autocast, as training uses
    python benchmarks/segmentation.py --device cuda --models unet --train-variants graph compile
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time

BASELINE = "unet"


def _sizes(dim: str, small: bool) -> dict:
    if dim == "2d":
        return {
            "train": (2, 1, 64, 64) if small else (8, 1, 128, 128),
            "infer": (2, 1, 128, 128) if small else (4, 1, 256, 256),
        }
    return {
        "train": (1, 1, 8, 32, 32) if small else (2, 1, 8, 64, 64),
        "infer": (1, 1, 8, 64, 64) if small else (1, 1, 8, 256, 256),
    }


def measure(
    name: str, device: str, small: bool, steps: int, seed: int, classes: int, threads: int,
    variants: tuple[str, ...] = (), compile_mode: str = "max-autotune-no-cudagraphs",
) -> dict:
    """Time one model in this process; returns plain numbers."""
    import torch

    from mtneuro.acceleration import cuda_autocast_dtype
    from mtneuro.models.segmentation import create_segmentation_model, model_dim

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    dev = torch.device(device)
    dim = model_dim(name)
    sizes = _sizes(dim, small)
    if name == "pan" and small:  # PAN needs >= 128 pixels
        sizes = {k: (*v[:-2], 128, 128) for k, v in sizes.items()}
    model = create_segmentation_model(name, classes, dim).to(dev)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    amp = dev.type == "cuda"
    x = torch.rand(sizes["train"], device=dev)
    y = torch.randint(0, classes, (sizes["train"][0], *sizes["train"][2:]), device=dev)
    dtype = cuda_autocast_dtype()  # as training uses: bfloat16, or float16 + loss scaling
    scaler = torch.amp.GradScaler("cuda", enabled=amp and dtype == torch.float16)

    def sync() -> None:
        if amp:
            torch.cuda.synchronize()

    def train_step() -> None:
        with torch.autocast(dev.type, dtype=dtype, enabled=amp):
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    if amp:
        torch.cuda.reset_peak_memory_stats()
    model.train()
    train_step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step()
    sync()
    train_s = (time.perf_counter() - t0) / steps
    tiles = torch.rand(sizes["infer"], device=dev)
    model.eval()
    with torch.no_grad(), torch.autocast(dev.type, dtype=dtype, enabled=amp):
        model(tiles)
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            model(tiles)
        sync()
        infer_s = (time.perf_counter() - t0) / steps
    peak_mb = (
        torch.cuda.max_memory_allocated() / 2**20
        if amp
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    extra = {}
    for variant in variants:
        try:
            extra[variant] = _train_variant(variant, name, dim, dev, sizes["train"], x, y,
                                            classes, seed, steps, compile_mode)
        except Exception as err:  # noqa: BLE001 - reported in the row
            extra[variant] = {"error": f"{type(err).__name__}: {err}".splitlines()[0][:200]}
    return {
        "variants": extra,
        "model": name,
        "dim": dim,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "train_samples_s": sizes["train"][0] / train_s,
        "infer_tiles_s": sizes["infer"][0] / infer_s,
        "peak_mb": peak_mb,
        "train_shape": sizes["train"],
        "infer_shape": sizes["infer"],
    }


def _train_variant(variant: str, name: str, dim: str, dev, shape, x, y, classes: int, seed: int,
                   steps: int, compile_mode: str) -> dict:
    """Training samples/s of ``variant`` (``graph``, ``compile``, ``graph-compile``)."""
    import torch

    from mtneuro.acceleration import GraphedStep, cuda_autocast_dtype
    from mtneuro.models.segmentation import create_segmentation_model

    capture, compiled = "graph" in variant, "compile" in variant
    if capture and dev.type != "cuda":
        raise RuntimeError("graph variants need a CUDA device")
    torch.manual_seed(seed)
    model = create_segmentation_model(name, classes, dim).to(dev).train()
    amp = dev.type == "cuda"
    dtype = cuda_autocast_dtype()
    if amp and dtype == torch.float16:
        raise RuntimeError("float16 needs a gradient scaler, which a graph cannot capture")
    # Captured: a tensor learning rate, as a scheduled run would write it before each replay.
    lr = torch.tensor(1e-3, device=dev) if capture else 1e-3
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, capturable=capture)
    backend, _, mode = compile_mode.rpartition(":")
    forward = model
    if compiled:
        forward = (torch.compile(model, backend=backend) if backend
                   else torch.compile(model, mode=mode))
    static_x, static_y = x.clone(), y.clone()

    def step() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=dtype, enabled=amp, cache_enabled=not capture):
            loss = torch.nn.functional.cross_entropy(forward(static_x).float(), static_y)
        loss.backward()
        optimizer.step()
        return loss.detach()

    run = GraphedStep(step) if capture else step
    sync = torch.cuda.synchronize if amp else (lambda: None)
    t0 = time.perf_counter()
    for _ in range(4):  # warm-up: compilation, cuDNN search, capture
        run()
    sync()
    setup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        if capture:
            lr.fill_(1e-3)
        static_x.copy_(x)  # as a real loop copies its next crops in
        loss = run()
    sync()
    rate = shape[0] * steps / (time.perf_counter() - t0)
    return {"train_samples_s": rate, "setup_s": setup_s, "loss": float(loss)}


def main() -> None:
    from mtneuro.models.segmentation import list_segmentation_models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="comma-separated names (default: all)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--small", action="store_true", help="tiny inputs (smoke run)")
    parser.add_argument(
        "--steps", type=int, default=None, help="timed steps (default 3 CPU, 20 CUDA)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--train-variants", nargs="*", default=[],
                        choices=["graph", "compile", "graph-compile"],
                        help="extra training rows per model (see the module docstring)")
    parser.add_argument("--compile-mode", default="max-autotune-no-cudagraphs",
                        help="torch.compile mode; 'BACKEND:' (e.g. 'aot_eager:') for smoke runs")
    args = parser.parse_args()
    names = args.models.split(",") if args.models else list_segmentation_models()
    valid = list_segmentation_models()
    unknown = [n for n in names if n not in valid]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; valid: {', '.join(valid)}")
    steps = args.steps or (20 if args.device.startswith("cuda") else 3)
    order = [BASELINE] + [n for n in names if n != BASELINE]
    ctx = mp.get_context("spawn")
    dtype = "autocast (bfloat16, float16 without it)" if args.device.startswith("cuda") else "float32"
    print(
        f"device {args.device}, dtype {dtype}, seed {args.seed}, classes {args.classes}, "
        f"steps {steps}, threads {args.threads}, baseline {BASELINE}"
    )
    width = max(len(n) for n in order) + 2  # unet3d-mtneuro and its dim stay apart
    print(
        f"{'model':<{width}}{'dim':<4}{'params M':>9}{'train/s':>9}{'x base':>8}{'infer/s':>9}"
        f"{'x base':>8}{'peak MB':>9}  shapes (train | infer)",
        flush=True,
    )
    base = None
    for name in order:  # each row as soon as it is measured: a cut-short run keeps its rows
        with ctx.Pool(1) as pool:
            r = pool.apply(
                measure, (name, args.device, args.small, steps, args.seed, args.classes,
                          args.threads, tuple(args.train_variants), args.compile_mode)
            )
        base = base or r
        print(
            f"{r['model']:<{width}}{r['dim']:<4}{r['params_m']:>9.1f}{r['train_samples_s']:>9.2f}"
            f"{r['train_samples_s'] / base['train_samples_s']:>8.2f}{r['infer_tiles_s']:>9.2f}"
            f"{r['infer_tiles_s'] / base['infer_tiles_s']:>8.2f}{r['peak_mb']:>9.0f}  "
            f"{tuple(r['train_shape'])} | {tuple(r['infer_shape'])}",
            flush=True,
        )
        for variant, v in r["variants"].items():
            if "error" in v:
                print(f"  + {variant:<14} FAILED {v['error']}", flush=True)
                continue
            print(f"  + {variant:<14}train/s {v['train_samples_s']:9.2f}  x eager "
                  f"{v['train_samples_s'] / r['train_samples_s']:5.2f}  x base "
                  f"{v['train_samples_s'] / base['train_samples_s']:5.2f}  warm-up "
                  f"{v['setup_s']:.1f} s (compile, capture)", flush=True)

if __name__ == "__main__":
    main()
