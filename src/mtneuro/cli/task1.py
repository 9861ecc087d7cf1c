"""``mtneuro task1``: brain-region classification (MTNeuro task 1)."""

from __future__ import annotations

import click

from mtneuro.cli.options import (
    ENCODER_OPTION,
    SOURCE_PARAM_OPTION,
    TASK_SOURCE_OPTION,
    parse_seeds,
    parse_source_params,
    quick_option,
    require_option,
    run_task,
    seeds_option,
    volume_run_options,
)
from mtneuro.data.spec import REGION_SETTINGS
from mtneuro.vocab import VOLUME_METHODS, method_label


@click.command("task1")
@click.option("--setting", type=click.Choice(tuple(REGION_SETTINGS)), default=None,
              help="; ".join(f"{name}: {s.description}" for name, s in REGION_SETTINGS.items())
              + "  [default: roi-c1]")
@click.option("--method", type=click.Choice(VOLUME_METHODS), default=None,
              help="supervised*: a ResNet trained end to end; byol / myow*: pre-trained on the "
                   "training tiles, then a linear probe; pca / nmf: pixel components, then "
                   "the probe; encoder: --encoder  [required, here or in --config]")
@TASK_SOURCE_OPTION
@SOURCE_PARAM_OPTION
@click.option("--dim", type=click.Choice(["2d", "3d"]), default=None,
              help="2d tiles or 3d blocks  [default: 2d]")
@seeds_option("0 1 2 (or the --config file's seeds)")
@ENCODER_OPTION
@quick_option("every 8th slice, resnet-tiny, 8 epochs, the resized protocol")
@click.option(
    "--protocol",
    type=click.Choice(["paper", "resized"]),
    default=None,
    help="paper: the released MTNeuro scripts (default); resized: 64-px tiles, 32-px quadrant "
    "crops (default with --quick)",
)
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="supervised epochs")
@click.option("--z-step", type=click.IntRange(min=1), default=None,
              help="keep every N-th slice of each split (3D: every N-th 8-slice block)")
@volume_run_options("Task1Config")
def task1(setting, method, source, source_params, dim, seeds, encoder, quick, protocol, epochs,
          z_step, pretrain_epochs, device, config_file, out, overwrite, more_seeds) -> None:
    """Classify tiles into CTX / STR / VP / ZI; writes OUT/metrics.json, PNGs and
    OUT/predictions.csv (every scored test tile or crop's region and prediction, per seed)."""
    require_option("method", method, config_file)
    values = {
        "setting": setting, "method": method, "source": source, "dim": dim, "encoder": encoder,
        "seeds": parse_seeds(seeds, more_seeds), "epochs": epochs, "z_step": z_step,
        "pretrain": {"epochs": pretrain_epochs}, "device": device, "protocol": protocol,
        "source_params": parse_source_params(source_params) or None,
        "quiet": False,  # a bar on a terminal, a line every 30 s in a log
    }
    result = run_task("task1", "quick" if quick else None, values, out, config_file=config_file,
                      overwrite=overwrite)
    from mtneuro.stats import describe
    from mtneuro.tasks.region import majority_text

    metrics, config = result.metrics, result.config
    interval = (metrics.get("intervals") or {}).get("accuracy")
    # the chance reference the accuracy is read against
    chance = f"; {majority_text(metrics['majority'])}" if metrics.get("majority") else ""
    click.echo(
        f"task1 {config['setting']} {method_label(config)} {config['dim']} on {config['source']}: "
        f"accuracy {describe(metrics['accuracy'], interval)}, "
        f"{metrics['n_test']} test images ({metrics['recipe']['test_input']}){chance}; "
        f"wrote {out}/metrics.json"
    )
