"""``mtneuro task3``: linear readout of semantic features from frozen embeddings."""

from __future__ import annotations

from pathlib import Path

import click

from mtneuro.cli.options import (
    DEVICE_OPTION,
    ENCODER_OPTION,
    OUT_OPTION,
    PRETRAIN_EPOCHS_OPTION,
    SEEDS_OPTION,
    SOURCE_PARAM_OPTION,
    config_option,
    parse_seeds,
    parse_source_params,
)
from mtneuro.cli.task1 import METHOD_NAMES


@click.command("task3", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--method", type=click.Choice(METHOD_NAMES), required=True)
@click.option(
    "--setting",
    type=click.Choice(["roi-c1", "roi-c3"]),
    default="roi-c1",
    show_default=True,
    help="task-1 setting the encoders are trained on",
)
@click.option(
    "--source", default="phantom", show_default=True, help="volume source (needs pixel_labels)"
)
@SOURCE_PARAM_OPTION
@SEEDS_OPTION
@ENCODER_OPTION
@click.option(
    "--quick",
    is_flag=True,
    help="small preset: every 8th slice (2D cell components), resnet-tiny, 32 PCA/NMF components",
)
@click.option("--z-step", type=int, default=None, help="keep every N-th slice")
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
@PRETRAIN_EPOCHS_OPTION
@DEVICE_OPTION
@config_option("Task3Config")
@OUT_OPTION
@click.pass_context
def task3(
    ctx: click.Context,
    method,
    setting,
    source,
    source_params,
    seeds,
    encoder,
    quick,
    z_step,
    connectivity,
    exact_features,
    pretrain_epochs,
    device,
    config_file,
    out,
) -> None:
    """R² of ridge readouts of vessels, axons, cell count/size/spacing; writes OUT/metrics.json."""
    from mtneuro.config import build_config, to_dict
    from mtneuro.report.plots_semantic import plot_task3_scatter
    from mtneuro.report.results import write_metrics
    from mtneuro.tasks.protocol import protocol_card
    from mtneuro.tasks.semantic_probe import Task3Config, run_task3

    overrides = {
        "method": method,
        "setting": setting,
        "source": source,
        "encoder": encoder,
        "seeds": parse_seeds(seeds, ctx.args),
        "z_step": z_step,
        "connectivity": connectivity,
        "pretrain_epochs": pretrain_epochs,
        "device": device,
        "quick": quick or None,
        "reference_features": False if exact_features else None,
        "source_params": parse_source_params(source_params) or None,
    }
    config = build_config(Task3Config, overrides, config_file)
    result = run_task3(config)
    out_dir = Path(out)
    metrics = {
        k: v for k, v in result.items() if k not in ("config", "source", "wall_s", "scatter")
    }
    write_metrics(
        out_dir,
        task="task3",
        metrics=metrics,
        config=to_dict(config),
        source=result["source"],
        wall_s=result["wall_s"],
        extra=protocol_card(config, result["source"]),
    )
    plot_task3_scatter(result, out_dir / "scatter.png")
    row = ", ".join(
        f"{name} {v['mean']:.2f}±{v['std']:.2f}" for name, v in result["r2_test"].items()
    )
    click.echo(
        f"task3 {config.method} ({config.setting}) on {config.source}, held-out R²: {row}; "
        f"wrote {out_dir / 'metrics.json'}"
    )
