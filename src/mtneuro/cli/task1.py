"""``mtneuro task1``: brain-region classification (MTNeuro task 1)."""

from __future__ import annotations

from pathlib import Path

import click

from mtneuro.cli.options import (
    DEVICE_OPTION,
    ENCODER_OPTION,
    OUT_OPTION,
    PRETRAIN_EPOCHS_OPTION,
    SEEDS_OPTION,
    SOURCE_OPTION,
    SOURCE_PARAM_OPTION,
    config_option,
    parse_seeds,
    parse_source_params,
)

SETTINGS = ("roi-c1", "roi-c2", "roi-c3")
METHOD_NAMES = (
    "supervised",
    "supervised-mixup",
    "byol",
    "myow",
    "myow-merged",
    "pca",
    "nmf",
    "encoder",
)


@click.command("task1", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--setting", type=click.Choice(SETTINGS), default="roi-c1", show_default=True)
@click.option("--method", type=click.Choice(METHOD_NAMES), required=True)
@SOURCE_OPTION
@SOURCE_PARAM_OPTION
@click.option("--dim", type=click.Choice(["2d", "3d"]), default="2d", show_default=True)
@SEEDS_OPTION
@ENCODER_OPTION
@click.option(
    "--quick",
    is_flag=True,
    help="small preset: every 8th slice, resnet-tiny, 8 epochs, the resized protocol",
)
@click.option(
    "--protocol",
    type=click.Choice(["paper", "resized"]),
    default=None,
    help="paper: the released MTNeuro scripts (default); resized: 64-px tiles, 32-px quadrant "
    "crops (default with --quick)",
)
@click.option("--epochs", type=int, default=None, help="supervised epochs")
@click.option("--z-step", type=int, default=None, help="keep every N-th slice of each split")
@PRETRAIN_EPOCHS_OPTION
@DEVICE_OPTION
@config_option("Task1Config")
@OUT_OPTION
@click.pass_context
def task1(
    ctx: click.Context,
    setting,
    method,
    source,
    source_params,
    dim,
    seeds,
    encoder,
    quick,
    protocol,
    epochs,
    z_step,
    pretrain_epochs,
    device,
    config_file,
    out,
) -> None:
    """Classify tiles into CTX / STR / VP / ZI; writes OUT/metrics.json and PNGs."""
    from mtneuro.config import build_config, to_dict
    from mtneuro.report.plots_region import plot_task1
    from mtneuro.report.results import write_metrics
    from mtneuro.tasks.protocol import protocol_card
    from mtneuro.tasks.region import Task1Config, run_task1

    overrides = {
        "setting": setting,
        "method": method,
        "source": source,
        "dim": dim,
        "encoder": encoder,
        "seeds": parse_seeds(seeds, ctx.args),
        "epochs": epochs,
        "z_step": z_step,
        "pretrain_epochs": pretrain_epochs,
        "device": device,
        "quick": quick or None,
        "protocol": protocol,
        "source_params": parse_source_params(source_params) or None,
    }
    config = build_config(Task1Config, overrides, config_file)
    result = run_task1(config)
    out_dir = Path(out)
    metrics = {k: v for k, v in result.items() if k not in ("config", "source", "wall_s")}
    write_metrics(
        out_dir,
        task="task1",
        metrics=metrics,
        config=to_dict(config),
        source=result["source"],
        wall_s=result["wall_s"],
        extra=protocol_card(config, result["source"]),
    )
    plot_task1(result, out_dir)
    acc = result["accuracy"]
    click.echo(
        f"task1 {config.setting} {config.method} {config.dim} on {config.source}: accuracy "
        f"{acc['mean']:.3f} ± {acc['std']:.3f} over {acc['n']} seed(s), {result['n_test']} test "
        f"images ({result['recipe']['test_input']}); wrote {out_dir / 'metrics.json'}"
    )
