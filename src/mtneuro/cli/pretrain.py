"""``mtneuro pretrain``: BYOL / MYOW / MYOW-merged pre-training of an encoder."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import click

from mtneuro.cli.options import parse_source_params
from mtneuro.errors import ConfigError
from mtneuro.progress import rate_text
from mtneuro.torchrun_env import torchrun_int
from mtneuro.vocab import LABELLED_IMAGE_SOURCES


@click.command("pretrain")
@click.option("--method", help="byol, myow or myow-merged  [default: myow]")
@click.option("--source", help="phantom, bossdb, cache, slice (volume tiles, ROI-C1 train), "
              "digits, cifar10, cifar100, folder (images in class folders) or volume (your "
              "own volume file: --source-param path=FILE)  [default: phantom]")
@click.option("--source-param", "source_param", multiple=True, metavar="KEY=VALUE",
              help="Source argument, repeatable (e.g. seed=1, root=DIR).")
@click.option("--epochs", type=click.IntRange(min=1),
              help="Training epochs  [default: 800; quick: 25]")
@click.option("--batch-size", type=click.IntRange(min=2),
              help="Global batch size  [default: 8; quick: 16]")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output directory  [default: runs/pretrain]")
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.pt.")
@click.option("--overwrite", is_flag=True,
              help="Replace the run OUT already holds (its checkpoint, log, encoder and metrics).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML file of PretrainConfig keys (flags override it).")
@click.option("--quick", is_flag=True, help="Tiny preset: under a minute on 2 CPU cores "
              "(phantom; a volume file is thinned to one slice in 16 unless its z_step is given).")
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1),
              help="Seed of weights, data order and views  [default: 0]")
@click.option("--device", help="cpu, cuda, cuda:N or auto  [default: cpu]")
@click.option("--amp", help="auto (bf16 on CUDA, fp16 on GPUs without bf16, off on CPU), none, "
              "bf16 (also AMX CPUs) or fp16 (CUDA only)  [default: auto]")
@click.option("--compile", "compile_encoders", is_flag=True, default=None,
              help="torch.compile the encoders (GPU: 1.3x on an H100; compile time first).")
@click.option("--step", "step_mode", help="How each step runs: auto, eager, static (no host "
              "synchronisation) or cuda_graph (captured once, replayed)  [default: auto]")
@click.option("--download", is_flag=True, default=None,
              help="Download CIFAR into --source-param root=DIR if missing (needs internet).")
@click.option("--probe", is_flag=True, help="Labelled image sources (digits, cifar10, "
              "cifar100, folder): linear-probe and kNN accuracy of the encoder on the test "
              "split, written to metrics.json.")
@click.option("--quiet", is_flag=True, default=None, help="No progress bar.")
def pretrain(
    method: str | None, source: str | None, source_param: tuple[str, ...], epochs: int | None,
    batch_size: int | None, out_dir: Path | None, resume: bool, overwrite: bool, config_file: Path | None, quick: bool,
    seed: int | None, device: str | None, amp: str | None, compile_encoders: bool | None,
    download: bool | None, probe: bool, quiet: bool | None, step_mode: str | None,
) -> None:
    """Pre-train an encoder with BYOL or MYOW; writes OUT/encoder.pt, train_log.jsonl,
    checkpoint.pt and metrics.json. Run under torchrun for several processes/GPUs.

    Defaults follow the MTNeuro task-1 configs (ResNet-18 on 128 x 128 crops of a volume
    source's ROI-C1 training tiles, cut at one offset per batch; lr 0.03 * B / 256, weight
    decay on every parameter, EMA 0.996, MYOW weight 0.1 mining from a third view, k = 1)
    except precision: --amp auto trains in bf16 on CUDA; --amp none is MTNeuro's fp32 (what
    task 1 / task 3 pre-training uses). Image sources and --source volume train at their
    image or tile size with image-set augmentations and resnet18-small.
    """
    from mtneuro.cli.preflight import check_config
    from mtneuro.cli.run_folder import run_folder
    from mtneuro.config import to_dict
    from mtneuro.devices import with_run_device
    from mtneuro.report.results import read_json_object, write_metrics
    from mtneuro.tasks.pretrain.config import (
        check_processes,
        make_config,
        method_settings_not_used,
        settings_not_used,
    )
    from mtneuro.tasks.pretrain.records import run_metrics
    from mtneuro.tasks.pretrain.run import run_pretrain

    overrides = {
        "method": method, "source": source, "source_params": parse_source_params(source_param) or None,
        "epochs": epochs, "batch_size": batch_size, "out_dir": out_dir and str(out_dir), "resume": resume or None,
        "seed": seed, "device": device, "amp": amp, "compile": compile_encoders,
        "download": download, "quiet": quiet, "step": step_mode,
    }
    preset = "quick" if quick else "default"
    config = make_config(preset, overrides, config_file)
    if probe and config.source not in LABELLED_IMAGE_SOURCES:
        raise ConfigError("--probe: only for labelled image sources "
                          f"({', '.join(LABELLED_IMAGE_SOURCES)}), got source {config.source!r}")
    check_config(config)
    check_processes(config, torchrun_int("WORLD_SIZE", 1))  # before any data is read
    not_used = settings_not_used(config)
    if not_used:  # named where given: set to other than the preset's value
        preset_values = make_config(preset, {"source": config.source})
        given = [k for k in not_used if getattr(config, k) != getattr(preset_values, k)]
        by_method = method_settings_not_used(config)
        _warn_given(config, [k for k in given if k not in by_method],
                    [k for k in given if k in by_method])
    if quick and config.source == "volume" and not config.quiet:  # it sets the run's length
        step = int(config.source_params["z_step"])
        which = "every slice" if step == 1 else f"one slice in {step}"
        click.echo(f"--quick: tiles of {which} of the volume (z_step={step}; "
                   "--source-param z_step=N to choose)", err=True)
    config = with_run_device(config)  # the record names the device that ran ("auto" resolved)
    start = time.perf_counter()
    with run_folder(config.out_dir, "pretrain", resume=config.resume, overwrite=overwrite):
        result = run_pretrain(config)  # Ctrl-C: main says how to resume
    if not result["is_main"]:
        return
    record = Path(config.out_dir) / "metrics.json"
    if result["steps_run"] == 0 and read_json_object(record) is not None:
        # a finished run resumed: its record (throughput, wall time) stays as it was
        click.echo(f"{config.out_dir} already holds all {result['epochs']} epochs; nothing to "
                   f"resume (final loss {result['final_loss']:.4f}); its metrics.json is kept")
        return
    if result["steps_run"] == 0 and record.exists():
        warnings.warn(f"{record} could not be read (cut short?); it is written again from the "
                      "finished run, without the training throughput it held", stacklevel=1)
    metrics = run_metrics(result)
    if probe:
        metrics["probe"] = _probe(config, Path(result["encoder"]))
    write_metrics(config.out_dir, task="pretrain", metrics=metrics, config=to_dict(config),
                  source=result["source"], wall_s=time.perf_counter() - start,
                  extra={"settings_not_used": list(not_used)})
    if result["steps_run"] == 0:  # no step ran here: no throughput to print
        click.echo(f"{config.out_dir} already holds all {result['epochs']} epochs; nothing to "
                   f"resume (final loss {result['final_loss']:.4f}); metrics.json written, "
                   f"encoder -> {result['encoder']}")
    else:
        resumed = ("" if result["steps_run"] == result["steps"] else
                   f" of the {result['steps_run']} steps resumed here")
        rate = rate_text(result["samples_per_s"])
        click.echo(f"{config.method} on {config.source}: {result['steps']} steps, final loss "
                   f"{result['final_loss']:.4f}, {rate} samples/s over "
                   f"{result['wall_s']:.1f} s of training{resumed} (step {result['step_mode']}); "
                   f"encoder -> {result['encoder']}")
    if probe:
        click.echo(f"probe: linear {metrics['probe']['linear_accuracy']:.3f}, "
                   f"kNN {metrics['probe']['knn_accuracy']:.3f}")


#: Why a method has no use for some settings (``method_settings_not_used``).
_METHOD_LACKS = {"byol": "does no MYOW mining",
                 "myow-merged": "has no second projector"}


def _warn_given(config: Any, by_source: list[str], by_method: list[str]) -> None:
    """Say that settings given for the MTNeuro volume's tiles, or for a part of MYOW the
    method lacks, change nothing here: one warning per reason."""
    listed = "(metrics.json lists them in settings_not_used)"
    if by_source:
        warnings.warn(f"{', '.join(by_source)} not used: source {config.source} brings its own "
                      f"images and view size {listed}", stacklevel=2)
    if by_method:
        warnings.warn(f"{', '.join(by_method)} not used: method {config.method} "
                      f"{_METHOD_LACKS[config.method]} {listed}", stacklevel=2)


def _probe(config: Any, encoder_path: Path) -> dict[str, float]:
    from mtneuro.data.vision import load_vision
    from mtneuro.models.checkpoint import load_encoder
    from mtneuro.tasks.vision_eval import evaluate_encoder

    params = dict(config.source_params)
    train = load_vision(config.source, "train", download=config.download, **params)
    test = load_vision(config.source, "test", download=config.download, **params)
    encoder = load_encoder(encoder_path, map_location=config.device)
    spec = encoder.input_spec
    return evaluate_encoder(encoder, train, test, device=config.device, mean=spec["mean"],
                            std=spec["std"], seed=config.seed)
