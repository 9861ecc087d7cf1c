"""The task contract: what every benchmark task declares, and the one result type.

A task (task 1, 2, 3, neural decoding, or one of yours) is a :class:`Task`, plain data:

* ``name``, ``title``; ``settings`` (e.g. ``roi-c1``) and ``methods`` it accepts;
* ``config``: its typed, frozen config class, and ``presets``: named starting values
  (``quick``, ``paper``, ...) that :meth:`Task.make_config` merges under a YAML file and
  explicit values, the one way every command, bench cell and ``mtneuro.evaluate`` sets
  a preset;
* ``encoder``: the interface of the user encoder it can evaluate (:data:`ENCODER_KINDS`),
  and the method that evaluates it (``encoder_method``);
* ``run(config, *, encoder=None) -> Result``; ``card(config, source) -> protocol card``;
  ``headline(metrics) -> {name: number}`` (the leaderboard's metric names); ``figures(result,
  out_dir) -> [paths]`` (in :mod:`mtneuro.report`, named, not imported: a task never imports it).

Callables may be given as ``"module:attribute"`` strings, imported on first use, so a
declaration imports no heavy module (``mtneuro.list_tasks()`` needs no torch, task 2 no
segmentation extra). :func:`mtneuro.report.record.run_and_record` runs any task and
writes its ``metrics.json`` (:meth:`Result.to_json`) and figures.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from mtneuro.config import from_mapping, load_yaml_mapping, to_dict
from mtneuro.errors import ConfigError, DataError
from mtneuro.registry import check_choice, import_object
from mtneuro.tasks.record_v1 import headline_of_v1_record, setting_of_v1_record

#: Encoder interfaces a task can evaluate (``Task.encoder``).
ENCODER_KINDS = {
    "image": "torch.nn.Module mapping (N, 1, H, W) float images in [0, 1] to (N, D) features",
    "neural": "torch.nn.Module mapping (N, neurons) population vectors to (N, D) features",
}
#: Version of the ``metrics.json`` layout of :meth:`Result.to_json`. 2 adds ``setting``,
#: ``method``, ``headline`` and ``figures`` to every record; version-1 files (only bench
#: cells had ``headline``) are read by :meth:`Result.from_json` too.
SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)
#: Top-level keys of a record that :class:`Result` holds in its own fields.
_RESULT_KEYS = ("schema_version", "task", "setting", "method", "source", "config", "metrics",
                "headline", "wall_s", "protocol", "deviations", "notes", "figures")

#: A preset: config values, or a function of the explicit values returning them (for
#: presets that depend on another choice, e.g. task 2's on the model's dimension).
Preset = Mapping[str, Any] | Callable[[Mapping[str, Any]], Mapping[str, Any]]


class RunSkipped(DataError):
    """A run cannot happen here for a reason that is no fault: its data is not downloaded.
    The message says how to get it; a bench cell is recorded as ``skipped``, a command
    prints the one line and exits 2."""


def resolve(hook: Any, what: str) -> Any:
    """A declared hook: itself, or the attribute a ``"module:attribute"`` string names."""
    return import_object(hook, what) if isinstance(hook, str) else hook


def one_seed_fields(setting: str, method: str, seed: int) -> dict[str, Any]:
    """The default ``Task.fields``: ``setting``, ``method`` and ``seeds: [seed]``."""
    return {"setting": setting, "method": method, "seeds": [seed]}


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on ``base``; nested mappings merge key by key, ``None`` values are dropped.

    A mapping of only ``None`` values (unset nested flags) keeps a non-mapping ``base``
    value, so a wrong ``pretrain: 7`` in a file reaches validation, which names it.

    Raises:
        ConfigError: ``over`` sets keys inside a key whose ``base`` value is no mapping.
    """
    out = dict(base)
    for key, value in over.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            existing = out.get(key)
            nested = merge(existing if isinstance(existing, Mapping) else {}, value)
            if existing is not None and not isinstance(existing, Mapping):
                if nested:
                    raise ConfigError(f"{key}: expected a mapping of settings, got {existing!r}")
                continue
            out[key] = nested
        else:
            out[key] = value
    return out


def configure(config_class: type, presets: Mapping[str, Preset], preset: str | None,
              values: Mapping[str, Any] | None = None, config_file: str | Path | None = None,
              complete: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
              what: str = "config") -> Any:
    """The one way a config is built: ``preset``'s values, then the YAML file's, then
    ``values`` (``None`` dropped; nested mappings merged key by key), resolved by ``complete``,
    validated once. A callable preset is given the file's values under ``values``.

    Raises:
        ConfigError: unknown preset, key or value (one line naming it).
    """
    values = dict(values or {})
    from_file = load_yaml_mapping(config_file) if config_file is not None else {}
    base: dict[str, Any] = {}
    if preset is not None:
        chosen = presets[check_choice(f"{what} preset", preset, list(presets))]
        # a preset that depends on the config (task 2's on the model) sees the file's keys too
        base = dict(chosen(merge(from_file, values)) if callable(chosen) else chosen)
    raw = merge(merge(base, from_file), values)
    try:
        return from_mapping(config_class, complete(raw) if complete is not None else raw)
    except ConfigError as err:
        # name the file when the bad key is one it sets and no flag replaced
        key = str(err).split(":", 1)[0].split(".", 1)[0]
        if key in from_file and not _given(values.get(key)):
            raise ConfigError(f"{config_file}: {err}") from None
        raise


def _given(value: Any) -> bool:
    """A command's value, as opposed to an unset flag (``None``, or nested ``None`` only)."""
    if isinstance(value, Mapping):
        return any(_given(v) for v in value.values())
    return value is not None


@dataclass(frozen=True)
class Task:
    """A benchmark task (see the module docstring).

    Attributes:
        name: the registry and suite name (``task1``).
        title: report heading.
        config: the config class, or ``"module:Class"``.
        settings: valid settings (empty: any).
        methods: valid methods (empty: any).
        presets: preset name -> :data:`Preset`.
        run: ``run(config, *, encoder=None) -> Result``, or its ``"module:function"``.
        card: ``card(config, source) -> {"protocol", "deviations", "notes"}`` (source:
            the data's ``describe()``, or ``None`` before the run).
        headline: ``headline(metrics) -> {name: float}``, the numbers the leaderboard and
            :meth:`mtneuro.Results.table` show, keyed like :mod:`mtneuro.report.published`.
        fields: ``fields(setting, method, seed) -> config values`` of one bench cell
            (default :func:`one_seed_fields`).
        figures: ``figures(result, out_dir) -> [Path]`` in the report layer, or ``None``.
        encoder: the user-encoder interface (a key of :data:`ENCODER_KINDS`) or ``None``.
        encoder_method: the method that evaluates a user encoder.
        volume: the task reads the volume source (``source``, ``source_params`` fields).
        extras, method_extras: the extras (:data:`mtneuro.extras.EXTRAS`) every run needs, and
            one method's; a bench cell missing one is skipped, saying what to install.
        pretrain_methods: methods whose runs pre-train an SSL encoder on the fly (a bench
            suite's ``ddp`` can run that pre-training under torchrun).
        complete: ``complete(config_class, values) -> values``: boundary resolution of the
            merged raw values before validation (e.g. the nested pre-training), or ``None``.
        resumable: ``run`` also takes ``workdir`` (a folder for its checkpoints) and
            ``resume`` (continue from them).
        seed_metrics: ``seed_metrics(metrics, row) -> metrics`` of one seed's ``per_seed`` row,
            as ``headline`` reads them; ``None``: rows hold them where the aggregate does.
        encoder_inputs: ``encoder_inputs(config) -> [(C, [Z,] H, W)]``, the input shapes the
            task feeds a user encoder under ``config`` (``mtneuro bench`` runs one batch of
            zeros of each before any cell); ``None``: the encoder's own ``input_spec`` size.
        own_setting: ``own_setting(setting) -> setting`` for a setting outside ``settings``
            that names data of the user's (the neural task: a recording file's path),
            raising :class:`~mtneuro.errors.ConfigError` if it is none; ``None``: only
            ``settings``.
    """

    name: str
    title: str
    config: Any
    run: Any
    card: Any
    headline: Any
    fields: Any = one_seed_fields
    settings: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    presets: Mapping[str, Preset] = field(default_factory=dict)
    figures: Any = None
    encoder: str | None = None
    encoder_method: str | None = None
    volume: bool = True
    extras: tuple[str, ...] = ()
    method_extras: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    pretrain_methods: tuple[str, ...] = ()
    complete: Any = None
    resumable: bool = False
    seed_metrics: Any = None
    encoder_inputs: Any = None
    own_setting: Any = None

    def __post_init__(self) -> None:
        if self.encoder is not None:
            check_choice(f"task {self.name} encoder kind", self.encoder, list(ENCODER_KINDS))

    @property
    def config_class(self) -> type:
        return resolve(self.config, f"task {self.name} config")

    def make_config(self, preset: str | None = None, values: Mapping[str, Any] | None = None,
                    config_file: str | Path | None = None) -> Any:
        """The validated config (:func:`configure` with the task's presets and ``complete``)."""
        complete = None
        if self.complete is not None:
            complete = partial(resolve(self.complete, f"task {self.name} complete"),
                               self.config_class)
        return configure(self.config_class, self.presets, preset, values, config_file, complete,
                         what=self.name)

    def check_setting(self, setting: str) -> str:
        """``setting`` if the task has it (any, for a task without settings) or takes it as
        data of the user's (``own_setting``); else ConfigError."""
        if not self.settings or setting in self.settings:
            return setting
        if self.own_setting is None:
            return check_choice(f"{self.name} setting", setting, self.settings)
        return resolve(self.own_setting, f"task {self.name} own_setting")(setting)

    def cell_config(self, setting: str, method: str, seed: int, *, preset: str | None = None,
                    values: Mapping[str, Any] | None = None) -> Any:
        """The config of one (setting, method, seed) run: ``fields`` under ``values``."""
        self.check_setting(setting)
        fields = resolve(self.fields, f"task {self.name} fields")(setting, method, seed)
        return self.make_config(preset, merge(values or {}, fields))

    def execute(self, config: Any, *, encoder: Any = None, workdir: str | Path | None = None,
                resume: bool = False) -> Result:
        """Run ``config`` (with an in-memory ``encoder`` for the encoder method).

        Args:
            workdir: a folder the run may keep working files in (task 2: checkpoints).
            resume: continue from them (``resumable`` tasks only).

        Runs seed the global random states; the caller's are restored on return.
        """
        from mtneuro.ssl.random_state import kept_random_state

        if not isinstance(config, self.config_class):
            raise ConfigError(f"task {self.name}: expected a {self.config_class.__name__}, "
                              f"got {type(config).__name__}")
        if not self.resumable and resume:
            raise ConfigError(f"task {self.name}: cannot resume (it keeps no checkpoints)")
        # the run's modules are imported within too: importing some draws from `random`
        with kept_random_state():
            run = resolve(self.run, f"task {self.name} run")
            if self.resumable:
                return run(config, encoder=encoder, workdir=workdir, resume=resume)
            return run(config, encoder=encoder)

    def protocol_card(self, config: Any, source: Any = None) -> dict[str, Any]:
        """The protocol card of ``config`` (how the run compares with the published one)."""
        return resolve(self.card, f"task {self.name} card")(config, source)

    def headline_of(self, metrics: Mapping[str, Any]) -> dict[str, float | None]:
        """The headline numbers of ``metrics`` as floats (``None`` where the task's headline
        gives ``None`` or a number that is not finite; ``metrics`` are a run's of this task)."""
        numbers = resolve(self.headline, f"task {self.name} headline")(metrics)
        return {k: None if v is None or not math.isfinite(float(v)) else float(v)
                for k, v in numbers.items()}

    def from_run(self, config: Any, out: Mapping[str, Any], *, artefacts: tuple[str, ...] = (),
                 deviations: Sequence[str] = ()) -> Result:
        """The :class:`Result` of a run function's plain dict: its ``source``, ``wall_s`` and
        ``config`` keys taken out, the ``artefacts`` keys kept out of the metrics."""
        metrics = {k: v for k, v in out.items()
                   if k not in ("source", "wall_s", "config", *artefacts)}
        return self.result(config, setting=config.setting, method=config.method,
                           metrics=metrics, source=out.get("source"), wall_s=out.get("wall_s"),
                           artefacts={k: out[k] for k in artefacts}, deviations=deviations)

    def result(self, config: Any, *, setting: str, method: str, metrics: Mapping[str, Any],
               source: Mapping[str, Any] | None, wall_s: float | None = None,
               artefacts: Mapping[str, Any] | None = None,
               deviations: Sequence[str] = ()) -> Result:
        """The :class:`Result` of a run of ``config``: headline and card computed here. The
        card is the config's (as a dry run shows it) plus ``deviations`` only the run could
        know (e.g. fewer PCA components than asked, from fewer training samples)."""
        card = self.protocol_card(config, source)  # a plugin's card may have no notes
        card = {**card, "deviations": [*card["deviations"], *deviations],
                "notes": list(card.get("notes") or [])}
        return Result(task=self.name, setting=setting, method=method, metrics=dict(metrics),
                      headline=self.headline_of(metrics), config=to_dict(config),
                      source=dict(source) if source is not None else None,
                      card=card, wall_s=wall_s, artefacts=dict(artefacts or {}))


@dataclass
class Result:
    """One run of a task: what ``metrics.json`` holds, plus in-memory artefacts.

    Attributes:
        task, setting, method: what ran.
        metrics: the computed numbers, plain data; per-seed rows under ``per_seed``.
        headline: the leaderboard numbers (:meth:`Task.headline_of`).
        config: the validated config as plain data.
        source: provenance of the data (a volume source's ``describe()``, a recording's
            files and SHA-256).
        card: the protocol card, ``{"protocol": {"name", "version"}, "deviations", "notes"}``.
        wall_s: wall-clock seconds of the run (and its figures, when recorded).
        figures: figure files, relative to the run's folder.
        artefacts: arrays for figures (test predictions, examples); never serialised.
        record: further top-level keys of the file (``created``, ``code_version``, a bench
            cell's ``cell`` / ``status`` / ...), kept as read.
    """

    task: str
    setting: str
    method: str
    metrics: dict[str, Any]
    headline: dict[str, float | None]
    config: dict[str, Any]
    source: dict[str, Any] | None
    card: dict[str, Any]
    wall_s: float | None = None
    figures: list[str] = field(default_factory=list)
    artefacts: dict[str, Any] = field(default_factory=dict, repr=False)
    record: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def per_seed(self) -> list[dict[str, Any]]:
        """One row per seed (``metrics["per_seed"]``; a one-seed run's metrics otherwise)."""
        rows = self.metrics.get("per_seed")
        return list(rows) if isinstance(rows, list) else [self.metrics]

    def to_json(self) -> dict[str, Any]:
        """The ``metrics.json`` mapping (plain data; NaN becomes ``null``)."""
        payload = {
            "schema_version": SCHEMA_VERSION, "task": self.task, "setting": self.setting,
            "method": self.method, **{k: v for k, v in self.record.items()
                                      if k in ("created", "code_version", "python")},
            "source": self.source, "config": self.config, "metrics": self.metrics,
            "headline": self.headline, "wall_s": self.wall_s, **self.card,
            "figures": list(self.figures),
            **{k: v for k, v in self.record.items() if k not in _RESULT_KEYS},
        }
        return to_jsonable(payload)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, origin: str = "metrics.json") -> Result:
        """A result back from a ``metrics.json`` mapping of schema 1 or 2.

        Version-1 files name their setting and method only in a bench cell's ``cell`` or in
        the config; their headline, when missing, is recomputed by the task's ``headline``.

        Raises:
            ConfigError: an unsupported schema version or a record without a task.
        """
        version = data.get("schema_version")
        if version not in READABLE_SCHEMAS:
            raise ConfigError(f"{origin}: schema_version {version!r} is not supported "
                              f"(expected one of {', '.join(map(str, READABLE_SCHEMAS))})")
        if not data.get("task"):
            raise ConfigError(f"{origin}: no 'task' key")
        cell = data.get("cell") if isinstance(data.get("cell"), Mapping) else {}
        config = dict(data.get("config") or {})
        metrics = dict(data.get("metrics") or {})
        headline = data.get("headline")
        if headline is None:
            headline = headline_of_v1_record(str(data["task"]), metrics)
        card = {**({"notes": []} if "deviations" in data else {}),  # none in older records
                **{k: data[k] for k in ("protocol", "deviations", "notes") if k in data}}
        return cls(
            task=str(data["task"]),
            setting=str(data.get("setting") or cell.get("setting")
                        or setting_of_v1_record(config, metrics)),
            method=str(data.get("method") or cell.get("method") or config.get("method")
                       or config.get("model") or ""),
            metrics=metrics, headline=dict(headline), config=config,
            source=data.get("source"), card=card, wall_s=data.get("wall_s"),
            figures=list(data.get("figures") or []),
            record={k: v for k, v in data.items() if k not in _RESULT_KEYS},
        )


def to_jsonable(value: Any) -> Any:
    """NumPy / torch scalars and arrays as plain JSON values; NaN and inf become ``None``."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(to_dict(value))
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
        return to_jsonable(value) if isinstance(value, list) else _finite(value)
    return _finite(value)


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value
