"""``mtneuro compare A B``: two runs on the same test samples, difference and its interval."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run_a", metavar="A", type=click.Path(path_type=Path))
@click.argument("run_b", metavar="B", type=click.Path(path_type=Path))
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="also write the comparison to this JSON file (for scripts)")
def compare(run_a: Path, run_b: Path, json_path: Path | None) -> None:
    """Compare run A with run B on the test samples both scored, from their predictions.csv.

    A and B are run folders (mtneuro task1 / task2 / task3 / neural --out DIR, seeds
    included), bench cell folders (OUT/cells/<id>), or a bench row's cells of every seed
    (OUT/cells/<id without -s<seed>>). For each metric: A's and B's value (the mean over
    their seeds), A - B and a percentile bootstrap 95% interval of it over test samples,
    resampled as the task's own intervals are (tiles, images, trials, blocks of bins). The
    interval covers the test samples, not the training: with one seed a side, another
    training could move the difference.
    """
    from mtneuro.report.compare import compare_runs, signed

    if json_path is not None:  # before the comparison: a refusal costs nothing
        _check_json_target(json_path)
    result = compare_runs(run_a, run_b)
    click.echo(f"{result.task} {result.setting} on {result.data}: "
               f"A = {result.a.label}, seeds {result.a.seeds}; B = {result.b.label}, seeds "
               f"{result.b.seeds}; the same {result.n_samples} test samples "
               f"({result.n} {result.unit})")
    width = max(len(r["metric"]) for r in result.rows)
    click.echo(f"{'metric':<{width}}  {'A':>7}  {'B':>7}  {'A - B':>7}  95% interval")
    for row in result.rows:
        click.echo(f"{row['metric']:<{width}}  {row['a']:7.3f}  {row['b']:7.3f}  "
                   f"{signed(row['difference']):>7}  {_interval(row, result.n)}")
    if result.task == "task2":  # two averages, as the table's: say which is which
        pooled = any(row["metric"].startswith("f1_") for row in result.rows)
        click.echo("iou: per test image, averaged over images as published (a class in neither "
                   "an image's truth nor its prediction counts 1.0); "
                   + ("f1: pooled over the pixels of the images, as the table's" if pooled else
                      "the table's pooled F1 is not compared: these runs' predictions.csv "
                      "lack the pixel counts (runs made before they were recorded)"))
    if json_path is not None:
        from mtneuro.report.results import write_json_atomic

        write_json_atomic(json_path, {
            "kind": COMPARISON, "task": result.task, "setting": result.setting, "data": result.data,
            "a": {"path": str(run_a), "method": result.a.record.get("method"),
                  "seeds": result.a.seeds},
            "b": {"path": str(run_b), "method": result.b.record.get("method"),
                  "seeds": result.b.seeds},
            "n_samples": result.n_samples, "n": result.n, "unit": result.unit,
            "level": 0.95, "rows": result.rows})
        click.echo(f"wrote {json_path}")


#: The ``kind`` of the JSON ``compare --json`` writes: the only file it replaces.
COMPARISON = "mtneuro compare"


def _check_json_target(path: Path) -> None:
    """Refuse a ``--json`` name that is no ``.json`` file, an existing file that is not an
    earlier comparison (a run's ``metrics.json`` or checkpoint would be lost), or a place
    this process cannot write."""
    from mtneuro.cli.run_folder import check_writable_folder
    from mtneuro.errors import ConfigError
    from mtneuro.report.results import read_json_object

    if path.suffix.lower() != ".json":
        raise ConfigError(f"--json {path}: expected a .json file name, got {path.suffix or 'none'}")
    if path.exists() and (read_json_object(path) or {}).get("kind") != COMPARISON:
        raise ConfigError(f"--json {path}: exists and is not a comparison mtneuro compare wrote "
                          "(replacing it would lose it); choose another file name")
    check_writable_folder(path.parent, "--json")


def _interval(row: dict, n: int) -> str:
    from mtneuro.report.compare import difference_side

    side = difference_side(row)
    if side == "none":
        return f"none: {n} units, fewer than 5"
    if side == "undefined":
        return "undefined (a constant truth)"
    verdict = {"a": "A higher", "b": "B higher",
               "neither": "no difference shown (the interval holds 0)"}[side]
    # the ends keep their sign (-0.000 is below 0), so they read as the verdict says
    return f"[{row['low']:+.3f}, {row['high']:+.3f}]  {verdict}"
