"""Checks of a suite's cells before anything runs (errors name the cell, or the encoder).

Used by the runner (:func:`~mtneuro.bench.runner.run_suite`) and by ``mtneuro bench``
before it touches its output folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mtneuro.bench.suite import Cell
from mtneuro.bench.windows import refuse_ddp
from mtneuro.errors import ConfigError, MtneuroError
from mtneuro.registry import raised
from mtneuro.tasks.api import resolve
from mtneuro.tasks.registry import get_task

if TYPE_CHECKING:
    from mtneuro.bench.cell import BuiltEncoder

#: where the value of a config key each cell sets itself comes from ("": any other key,
#: a field of its setting)
_SEEDS = "the 'seeds' of its grid entry or suite (or --seeds)"
_OWNED_FROM = {"method": "its grid entry's 'methods'", "model": "its grid entry's 'methods'",
               "seed": _SEEDS, "seeds": _SEEDS, "source": "the suite's 'source' (or --source)",
               "encoder": "--encoder", "quiet": "the bench (always quiet)",
               "": "its grid entry's 'setting'"}


def owned_keys(cell: Cell) -> set[str]:
    """The config keys ``cell`` sets itself (its task's fields of a setting, method and seed;
    the source of a volume task; ``encoder`` of an encoder cell; ``quiet``): a ``params``
    value for one would be silently replaced."""
    task = get_task(cell.task)
    owned = set(resolve(task.fields, f"task {task.name} fields")(cell.setting, cell.method,
                                                                  cell.seed))
    owned |= {"quiet"} | ({"source"} if task.volume else set())
    return owned | ({"encoder"} if cell.encoder else set())


def check_params(cell: Cell, *, by: str = "the cell", origins: Mapping[str, str] = _OWNED_FROM,
                 prefix: str | None = None) -> None:
    """Reject a ``params`` key the cell sets itself (:func:`owned_keys`).

    Args:
        by, origins: who sets the keys and where each value comes from (``""``: any key
            not listed), as the caller's user gives them (a suite; ``mtneuro.evaluate``).
        prefix: the message's start (default: ``cell ID: ``).

    Raises:
        ConfigError: one line naming the cell, the key, its value and where it is set.
    """
    for key in sorted(owned_keys(cell) & set(cell.params)):
        where = origins.get(key, origins[""])
        start = f"cell {cell.id}: " if prefix is None else prefix
        raise ConfigError(f"{start}params.{key}: {cell.params[key]!r} is set by {by} itself, "
                          f"from {where}; remove it from params")


def check_cells(cells: Iterable[Cell]) -> None:
    """Reject unknown tasks and settings, ``params`` keys a cell sets itself
    (:func:`check_params`), and on Windows pre-training under torchrun
    (:func:`~mtneuro.bench.windows.refuse_ddp`), before anything runs (errors name the cell)."""
    cells = list(cells)
    refuse_ddp(cells)
    for cell in cells:
        task = get_task(cell.task)
        try:
            task.check_setting(cell.setting)
        except ConfigError as err:
            raise ConfigError(f"cell {cell.id}: {err}") from None
        check_params(cell)


def check_encoders(cells: Iterable[Cell]) -> None:
    """Every encoder spec the image-probing cells read (``--encoder``, an ``encoder``
    param), as their runs will use it: built once per spec, its input dims against each
    cell's task (2D, or 3D where a task-1 cell's config has ``dim: 3d``), then one forward
    pass of a random-pixel batch of each input shape the cell's task feeds it (its
    ``encoder_inputs``; the encoder's own ``input_spec`` size for a task that declares none)
    through the probes' feature extractor: an error in forward, output that is not
    ``(B, D)``, NaN, a feature size that follows the input size. A spec that would fail in a
    cell fails here, before anything runs.

    Raises:
        ConfigError: one line, ``--encoder SPEC: what`` (``cell ID: params.encoder SPEC:
            what`` for a spec from a suite's params).
    """
    from mtneuro.bench.cell import cell_config
    from mtneuro.tasks.encoder_inputs import check_input_shapes

    probed: set[tuple[str, tuple]] = set()
    for cell in cells:
        task = get_task(cell.task)
        if task.encoder != "image":
            continue
        config = cell_config(task, cell)
        spec = getattr(config, "encoder", None)
        if not isinstance(spec, str) or not spec:
            continue
        option = "--encoder" if spec == cell.encoder else f"cell {cell.id}: params.encoder"
        built = _built(spec, option)
        _check_cell_dims(built.input_spec, cell, config, f"{option} {spec}")
        shapes = _input_shapes(task, config, built)
        if (spec, shapes) not in probed:
            probed.add((spec, shapes))
            check_input_shapes(built.module, built.input_spec, shapes, f"{option} {spec}")


def _built(spec: str, option: str) -> BuiltEncoder:
    from mtneuro.bench.cell import build_encoder
    from mtneuro.models.checkpoint import check_image_encoder_spec, input_normalisation

    built = build_encoder(spec)
    if isinstance(built, Exception):
        raise ConfigError(f"{option} {spec}: {_without_name(built, spec)}") from None
    check_image_encoder_spec(built.input_spec, f"{option} {spec}")
    input_normalisation(built.input_spec, f"{option} {spec}")  # one channel, numbers
    return built


def _without_name(exc: Exception, spec: str) -> str:
    """The error's first line, less its own ``encoder 'SPEC': `` (the line names it first)."""
    if not isinstance(exc, MtneuroError):
        return raised(exc)
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    for prefix in (f"encoder {spec!r}: ", f"encoder {spec!r} "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _check_cell_dims(input_spec: dict[str, Any], cell: Cell, config: Any, who: str) -> None:
    """The task's rule (:func:`mtneuro.tasks.encoders`' ``_check_dims``: the encoder's
    ``spatial_dims`` are the task's) with the bench's fix: a suite's ``params: {dim: ..}``."""
    dims = int(input_spec["spatial_dims"])  # present: check_image_encoder_spec
    runs = 3 if getattr(config, "dim", "2d") == "3d" else 2
    if dims == runs:
        return
    if hasattr(config, "dim"):
        fix = (f"bench has no --dim: give a suite file whose {cell.task} grid entry has "
               f"'params: {{dim: {dims}d}}', or a {runs}D encoder")
    else:
        fix = f"{cell.task} takes {runs}D encoders only"
    raise ConfigError(f"{who}: takes {dims}D inputs but cell {cell.id} runs in {runs}D; {fix}")


def _input_shapes(task: Any, config: Any, built: BuiltEncoder) -> tuple[tuple[int, ...], ...]:
    """What ``task`` feeds the encoder under ``config``; for a task that does not say, one
    input of the encoder's own ``input_spec`` size."""
    from mtneuro.models.user import probe_shape

    if task.encoder_inputs is None:
        return (probe_shape(built.input_spec)[1:],)
    return tuple(resolve(task.encoder_inputs, f"task {task.name} encoder_inputs")(config))
