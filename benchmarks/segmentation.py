"""Throughput and memory of every task-2 segmentation model.

For each model: training samples/s (forward + backward + AdamW step on random
crops), inference tiles/s (no-grad forward on whole 256 x 256 tiles or
8 x 256 x 256 blocks) and peak memory, each model in a fresh process so the
peak is its own (CPU: max resident set of that process, including the
interpreter and libraries; CUDA: ``torch.cuda.max_memory_allocated``).
The baseline is the MTNeuro 2D U-Net measured in the same run; every row shows
its ratio to it.

    python benchmarks/segmentation.py                       # all models, CPU
    python benchmarks/segmentation.py --models unet,unet3d --small
    python benchmarks/segmentation.py --device cuda         # autocast, as training uses
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
    name: str, device: str, small: bool, steps: int, seed: int, classes: int, threads: int
) -> dict:
    """Time one model in this process; returns plain numbers."""
    import torch

    from mtneuro.models.segmentation import create_segmentation_model, model_dim
    from mtneuro.ssl.acceleration import cuda_autocast_dtype

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
    return {
        "model": name,
        "dim": dim,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "train_samples_s": sizes["train"][0] / train_s,
        "infer_tiles_s": sizes["infer"][0] / infer_s,
        "peak_mb": peak_mb,
        "train_shape": sizes["train"],
        "infer_shape": sizes["infer"],
    }


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
    print(
        f"{'model':<14}{'dim':<4}{'params M':>9}{'train/s':>9}{'x base':>8}{'infer/s':>9}"
        f"{'x base':>8}{'peak MB':>9}  shapes (train | infer)",
        flush=True,
    )
    base = None
    for name in order:  # each row as soon as it is measured: a cut-short run keeps its rows
        with ctx.Pool(1) as pool:
            r = pool.apply(
                measure, (name, args.device, args.small, steps, args.seed, args.classes, args.threads)
            )
        base = base or r
        print(
            f"{r['model']:<14}{r['dim']:<4}{r['params_m']:>9.1f}{r['train_samples_s']:>9.2f}"
            f"{r['train_samples_s'] / base['train_samples_s']:>8.2f}{r['infer_tiles_s']:>9.2f}"
            f"{r['infer_tiles_s'] / base['infer_tiles_s']:>8.2f}{r['peak_mb']:>9.0f}  "
            f"{tuple(r['train_shape'])} | {tuple(r['infer_shape'])}",
            flush=True,
        )

if __name__ == "__main__":
    main()
