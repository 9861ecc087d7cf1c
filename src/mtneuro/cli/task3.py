"""``mtneuro task3``: linear readout of semantic features from frozen embeddings."""

from __future__ import annotations

import click

from mtneuro.cli.options import (
    ENCODER_OPTION,
    SOURCE_PARAM_OPTION,
    parse_seeds,
    parse_source_params,
    quick_option,
    require_option,
    run_task,
    seeds_option,
    volume_run_options,
)
from mtneuro.vocab import VOLUME_METHODS, method_label


@click.command("task3")
@click.option("--method", type=click.Choice(VOLUME_METHODS), default=None,
              help="whose frozen embeddings are read out: supervised* (trained on --setting), "
                   "byol / myow* (pre-trained), pca / nmf, or encoder (--encoder)  [required, here "
                   "or in --config]")
@click.option(
    "--setting",
    type=click.Choice(["roi-c1", "roi-c3"]),
    default=None,
    help="task-1 setting the encoders are trained on  [default: roi-c1]",
)
@click.option(
    "--source", default=None, help="volume source (needs pixel_labels)  [default: phantom]"
)
@SOURCE_PARAM_OPTION
@seeds_option("0 1 2 (or the --config file's seeds)")
@ENCODER_OPTION
@quick_option("every 8th slice (2D cell components), resnet-tiny, 32 PCA/NMF components")
@click.option("--z-step", type=click.IntRange(min=1), default=None, help="keep every N-th slice")
@click.option(
    "--connectivity",
    type=click.Choice(["3d", "2d"]),
    default=None,
    help="cell components (default 3d when all slices are used)",
)
@click.option(
    "--exact-features",
    is_flag=True,
    help="corrected cell size / nearest-neighbour distance, reported as cell_size_exact and "
    "nn_distance_exact (default: the published definitions, under the published names)",
)
@volume_run_options("Task3Config")
def task3(method, setting, source, source_params, seeds, encoder, quick, z_step, connectivity,
          exact_features, pretrain_epochs, device, config_file, out, overwrite, more_seeds) -> None:
    """R² of linear readouts of vessels, axons, cell count/size/spacing (in-sample, as published,
    and held-out ridge); writes OUT/metrics.json and OUT/predictions.csv (every test crop's
    true and predicted features, per seed)."""
    require_option("method", method, config_file)
    values = {
        "method": method, "setting": setting, "source": source, "encoder": encoder,
        "seeds": parse_seeds(seeds, more_seeds), "z_step": z_step, "connectivity": connectivity,
        "pretrain": {"epochs": pretrain_epochs}, "device": device,
        "reference_features": False if exact_features else None,
        "source_params": parse_source_params(source_params) or None,
        "quiet": False,  # a bar on a terminal, a line every 30 s in a log
    }
    result = run_task("task3", "quick" if quick else None, values, out, config_file=config_file,
                      overwrite=overwrite)
    from mtneuro.stats import describe_row, spread_text

    intervals = (result.metrics.get("intervals") or {}).get("r2_test") or {}
    held_out = describe_row([(name, v, intervals.get(name))
                             for name, v in result.metrics["r2_test"].items()])
    in_sample = ", ".join(  # the seeds are counted once, on the held-out row
        f"{name} {spread_text(v)}" for name, v in result.metrics["r2_in_sample_reference"].items())
    chance = result.metrics.get("r2_in_sample_chance") or 0.0
    inflated = (f" (it fits noise to about {chance:.3f} with this many features and crops)"
                if chance >= 0.1 else "")
    # corrected features' numbers are never the published column (vocab.EXACT_FEATURE_NAMES)
    column = ("the published column, the report's first"
              if result.config.get("reference_features", True)
              else "corrected features: no published column to compare with")
    click.echo(
        f"task3 {method_label(result.config)} ({result.setting}) on {result.config['source']}: "
        f"in-sample R² ({column}): {in_sample}{inflated}; "
        f"held-out R²: {held_out}; wrote {out}/metrics.json"
    )
