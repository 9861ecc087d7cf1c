"""``mtneuro task2``: train and evaluate a microstructure segmentation network (MTNeuro task 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mtneuro.cli.options import (
    MORE_SEEDS_ARGUMENT,
    OVERWRITE_OPTION,
    SOURCE_PARAM_OPTION,
    parse_key_values,
    parse_seeds,
    parse_source_params,
    run_task,
    seeds_option,
)
from mtneuro.errors import ConfigError
from mtneuro.vocab import method_label

MODEL_HELP = (
    "unet, manet, fpn, unetplusplus, pan, pspnet, ssl-unet, unet-mtneuro (2d); unet3d, vnet, "
    "highresnet, unet3d-mtneuro (3d); unet-mtneuro / unet3d-mtneuro: MTNeuro's own U-Net, the "
    "published U-Net rows' network"
)


def _parse_settings(pairs: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``--set`` pairs -> (top-level, ``train``) overrides; JSON values are parsed."""
    top: dict[str, Any] = {}
    train: dict[str, Any] = {}
    for key, value in parse_key_values(pairs, "--set").items():
        if key.startswith("train."):
            train[key.removeprefix("train.")] = value
        elif key == "train":
            if not isinstance(value, dict):
                raise ConfigError(f"--set train: expected train.KEY=VALUE (e.g. train.lr=0.01) or "
                                  f"a JSON mapping, got {value!r}")
            train.update(value)
        else:
            top[key] = value
    return top, train


@click.command()
@click.option("--model", required=True, help=f"Network: {MODEL_HELP}.")
@click.option(
    "--classes",
    type=click.Choice(["3", "4"]),
    default=None,
    help="4: bg/vessel/cell/axon on CTX, STR, VP; 3: axons merged into bg, all regions.  "
    "[default: 4]",
)
@click.option(
    "--dim",
    type=click.Choice(["2d", "3d"]),
    help="2d slices or 3d 8-slice blocks (default: the model's).",
)
@click.option(
    "--source",
    default=None,
    help="Volume source (phantom, bossdb, cache, ...).  [default: phantom]",
)
@SOURCE_PARAM_OPTION
@seeds_option("0 (or --set seeds=[...])")
@click.option(
    "--epochs", type=click.IntRange(min=1), help="Training epochs (overrides the preset)."
)
@click.option("--lr", type=float, help="Peak learning rate.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Crops per step.")
@click.option("--crop", type=click.IntRange(min=8), help="Training crop side in pixels.")
@click.option("--optimizer", type=click.Choice(["adamw", "sgd"]), help="Optimiser.")
@click.option(
    "--loss", type=click.Choice(["ce", "dice_ce"]), help="Cross-entropy, or plus soft Dice."
)
@click.option(
    "--class-weights", help="'none', 'balanced' or comma-separated weights, one per class."
)
@click.option("--encoder", help="ssl-unet encoder: `mtneuro pretrain` checkpoint or user spec.")
@click.option("--encoder-name", help="smp encoder of the 2D smp models (default resnet18).")
@click.option(
    "--encoder-weights",
    metavar="imagenet|FILE",
    help="smp encoder weights of the 2D smp models: 'imagenet' (as MTNeuro; smp downloads "
    "and caches them once) or a local file; default: random initialisation.",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any other config key, repeatable: test_z_step=5, window=128, train.steps_per_epoch=10.",
)
@click.option(
    "--quick", is_flag=True, help="Quick preset: minutes on a CPU (subsampled slices, crops; 3D highresnet: 10-15 "
         "minutes on 2 cores)."
)
@click.option(
    "--paper",
    is_flag=True,
    help="MTNeuro preset: whole tiles, plain SGD lr 0.01, no scheduler or augmentation, "
    "5 epochs, all slices (add --encoder-weights imagenet for the reference's smp encoders; "
    "--model unet-mtneuro / unet3d-mtneuro: the published U-Net rows' own network). "
    "Neither --quick nor --paper: our full-size defaults (whole tiles, all slices, 5 epochs, "
    "AdamW lr 1e-3 with cosine decay, weight decay 1e-4, random flips and 90-degree turns), "
    "hours on a CPU.",
)
@click.option("--device", default=None, help="auto, cpu, cuda, cuda:N or mps.  [default: auto]")
@click.option(
    "--resume", is_flag=True, help="Continue each seed from its checkpoint in OUT/checkpoints."
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory: metrics.json, overlay_<region>.png, predictions.csv (each test "
    "image's per-class IoU, per seed), checkpoints/.",
)
@OVERWRITE_OPTION
@MORE_SEEDS_ARGUMENT
def task2(
    model: str,
    classes: str | None,
    dim: str | None,
    source: str | None,
    source_params: tuple[str, ...],
    seeds: tuple[str, ...],
    more_seeds: tuple[str, ...],
    epochs: int | None,
    lr: float | None,
    batch_size: int | None,
    crop: int | None,
    optimizer: str | None,
    loss: str | None,
    class_weights: str | None,
    encoder: str | None,
    encoder_name: str | None,
    encoder_weights: str | None,
    settings: tuple[str, ...],
    quick: bool,
    paper: bool,
    device: str | None,
    resume: bool,
    quiet: bool,
    out_dir: Path,
    overwrite: bool,
) -> None:
    """Segment vessels, cell bodies and axons (MTNeuro task 2) and score on the test slices.

    Writes OUT/metrics.json (per-class F1 and IoU, and one balanced accuracy, per seed, and
    mean +- std over seeds; F1 from counts pooled over the test set, IoU per test
    image then averaged (a class absent from both an image's truth and prediction scores
    1; the pooled IoU is printed beside it), balanced accuracy from the counts pooled over
    the non-background classes, as MTNeuro's task2_main.py computes it) and
    overlay PNGs of a few test tiles per region. Example:

    \b
        mtneuro task2 --model unet --classes 4 --quick --seeds 0 1 2 --out runs/unet4
    """
    from mtneuro.tasks.api import merge
    from mtneuro.tasks.segmentation.finished_run import RunFinished

    if quick and paper:
        raise ConfigError("--quick and --paper: choose one preset")
    weights: str | list[float] | None = class_weights
    if class_weights is not None and class_weights not in ("none", "balanced"):
        try:
            weights = [float(v) for v in class_weights.split(",")]
        except ValueError:
            raise ConfigError(
                f"--class-weights: expected none, balanced or numbers, got {class_weights!r}"
            ) from None
    extra, train_extra = _parse_settings(settings)
    flags = {
        "model": model, "classes": None if classes is None else int(classes), "dim": dim,
        "source": source,
        "source_params": parse_source_params(source_params), "seeds": parse_seeds(seeds, more_seeds),
        "encoder": encoder, "encoder_name": encoder_name, "encoder_weights": encoder_weights,
        "device": device, "quiet": quiet or None,
        "train": {"epochs": epochs, "lr": lr, "batch_size": batch_size, "crop": crop,
                  "optimizer": optimizer, "loss": loss, "class_weights": weights},
    }
    for key, value in flags["train"].items():  # a flag and --set giving one setting twice
        if value is not None and key in train_extra and train_extra[key] != value:
            raise ConfigError(f"--{key.replace('_', '-')} {value} and --set train.{key}="
                              f"{train_extra[key]}: choose one")
    values = merge({**extra, "train": train_extra}, flags)  # flags over --set, None dropped
    try:
        result = run_task("task2", "quick" if quick else "paper" if paper else None, values,
                          out_dir, resume=resume, overwrite=overwrite)
    except RunFinished as finished:  # as pretrain --resume of a finished run: exit 0
        click.echo(str(finished))
        return
    metrics, path = result.metrics, out_dir / "metrics.json"
    from mtneuro.stats import describe_row, spread_text, varies

    summary, intervals = metrics["summary"], metrics.get("intervals") or {}
    # a value equal over seeds that changed the run elsewhere is no deterministic method
    run_varies = any(varies(s) for s in (summary["avg_f1"], summary["avg_iou"],
                                         *summary["f1"].values(), *summary["iou"].values()))
    head = describe_row([("avg F1", summary["avg_f1"], intervals.get("avg_f1")),
                         ("avg IoU", summary["avg_iou"], intervals.get("avg_iou"))],
                        run_varies=run_varies)
    # the reference's balanced accuracy: counts pooled over the classes but background; as
    # task 3's in-sample R², the seeds are counted once, on the values before it
    balanced_text = spread_text(summary["balanced_accuracy"])
    click.echo(
        f"task2 {method_label(result.config, 'model')} {result.config['classes']}-class "
        f"{metrics['setting']['dim']} on {result.config['source']}: {head}; balanced acc "
        f"(counts pooled over non-background classes) {balanced_text}"
    )
    for name in metrics["setting"]["class_names"]:
        row = describe_row([("F1", summary["f1"][name], intervals.get("f1", {}).get(name)),
                            ("IoU", summary["iou"][name], intervals.get("iou", {}).get(name))],
                           run_varies=run_varies)
        click.echo(f"  {name:>16}: {row}")
    pooled = summary.get("iou_pooled") or {}
    seeds = summary["f1"][next(iter(summary["f1"]))].get("n", 1)
    over = f"mean over {seeds} seeds" if seeds > 1 else "one seed"
    click.echo("  IoU above as MTNeuro scores it: per test image, 1 for a class absent from "
               "both its truth and prediction, then averaged; IoU from counts pooled over the "
               f"whole test set instead ({over}): "
               + ", ".join(f"{name} {pooled[name]['mean']:.3f}" for name in pooled)
               + (f"; average {summary['avg_iou_pooled']['mean']:.3f}"
                  if "avg_iou_pooled" in summary else ""))
    click.echo(f"wrote {path} and {len(result.figures)} overlay PNG(s)")
    note = checkpoint_note(out_dir)
    if note:
        click.echo(note)


def checkpoint_note(out_dir: Path) -> str | None:
    """What the run's training checkpoints cost on disk (they make ``--resume`` possible and
    can be large), or ``None`` when it kept none."""
    kept = sorted((out_dir / "checkpoints").glob("*.pt"))
    if not kept:
        return None
    size = sum(f.stat().st_size for f in kept) / 2**20
    return (f"kept {len(kept)} checkpoint(s) for --resume in {out_dir / 'checkpoints'} "
            f"({size:.0f} MiB); delete them once the run needs no resuming")
