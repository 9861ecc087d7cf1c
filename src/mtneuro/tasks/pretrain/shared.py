"""Encoders pre-trained on the fly, kept for other runs of the same pre-training.

Task 1 and task 3 on one region setting pre-train the same SSL encoder on the fly (same
settings, seed and training tiles). Inside :func:`shared_pretraining` (a bench suite's
cells), :func:`pretrained` keeps each encoder it trains as ``<folder>/<key>.pt`` and hands
it to the next run with the same :func:`pretraining_key` instead of training it again.

The key covers everything that decides the trained weights: every setting but those that
only change logging, checkpoints, speed or memory (:data:`NO_EFFECT_ON_WEIGHTS`), the
images' dtype, shape and bytes, the torch CPU thread count (CPU float sums depend on it),
the device (type and model, CPU kernel level), the default dtype, the torch and mtneuro
versions and mtneuro's own source files (an editable install keeps its version as its code
changes). A kept encoder is therefore the one this run would train (bit-identical on
CPU). The file also keeps the global random states training left (training seeds them),
restored on reuse so that code after the encoder draws what it would have drawn.

Outside :func:`shared_pretraining` nothing is kept: :func:`pretrained` just trains.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from mtneuro.config import to_dict
from mtneuro.errors import CheckpointError, MtneuroError
from mtneuro.machine import cpu_model
from mtneuro.tasks.pretrain.config import PretrainConfig
from mtneuro.torchrun_env import torchrun_int

#: Settings that change nothing a pre-training computes, so runs differing only in them share
#: an encoder. Of the resumable changes (``config.RESUMABLE_CHANGES``) these are logging and
#: checkpoint cadence (read-backs and the divergence guard's checks only read the weights),
#: malloc's retention of freed memory, index prefetching (the same draws, made up front),
#: the output folder, ``resume`` and ``download`` (a task's pre-training writes no files and
#: is given its images). ``device`` is keyed by the device it resolves to. Not listed:
#: ``step`` and ``compile_mode``, whose step modes agree only up to float rounding.
NO_EFFECT_ON_WEIGHTS = ("log_every", "checkpoint_every", "checkpoint_minutes", "quiet",
                        "retain_cpu_memory", "prefetch_indices", "out_dir", "resume", "download",
                        "device")
#: Key of the file's ``meta`` holding the :func:`pretraining_key` it was written under.
KEY_META = "pretraining_key"
#: Key of the file's ``meta`` holding the global random states training left.
RNG_META = "rng_after_training"


@dataclasses.dataclass
class SharedEncoders:
    """The store of :func:`shared_pretraining`: ``folder`` and the keys it served (their
    encoders were loaded, not trained, in this block)."""

    folder: Path
    served: list[str] = dataclasses.field(default_factory=list)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.pt"


class Pretrained(NamedTuple):
    """An encoder from :func:`pretrained`: as :func:`~mtneuro.tasks.pretrain.run.pretrain_encoder`
    would give it (in training mode, on the CPU), its input spec, whether it was loaded from
    the store, and its key (``None`` without a store)."""

    encoder: nn.Module
    input_spec: dict[str, Any]
    reused: bool
    key: str | None


_STORE: contextvars.ContextVar[SharedEncoders | None] = contextvars.ContextVar(
    "mtneuro_shared_pretraining", default=None)


@contextlib.contextmanager
def shared_pretraining(folder: str | os.PathLike) -> Iterator[SharedEncoders]:
    """Within the block, :func:`pretrained` keeps and reuses encoders in ``folder``
    (created when the first is written)."""
    store = SharedEncoders(Path(folder))
    token = _STORE.set(store)
    try:
        yield store
    finally:
        _STORE.reset(token)


def current_store() -> SharedEncoders | None:
    """The store of the enclosing :func:`shared_pretraining` block, if any."""
    return _STORE.get()


def _device_facts(name: str) -> dict[str, Any]:
    from mtneuro.devices import resolve_device

    device = resolve_device(name)
    if device.type == "cuda":
        index = torch.cuda.current_device() if device.index is None else device.index
        return {"type": "cuda", "model": torch.cuda.get_device_name(index),
                "capability": list(torch.cuda.get_device_capability(index))}
    # the model, not only the kernel level: two CPU families with AVX-512 train apart
    return {"type": device.type, "cpu": cpu_model()}


def pretraining_key(config: PretrainConfig, images: torch.Tensor) -> str:
    """SHA-256 (hex) of everything that decides the weights ``config`` trains on ``images``
    (see the module docstring)."""
    import hashlib

    import mtneuro
    from mtneuro.checkpoint_io import content_digest

    settings = {k: v for k, v in to_dict(config).items() if k not in NO_EFFECT_ON_WEIGHTS}
    facts = {
        "settings": settings,
        "images": content_digest(images),  # dtype, shape and bytes
        "torch_threads": torch.get_num_threads(),
        "device": _device_facts(config.device),
        "default_dtype": str(torch.get_default_dtype()),
        "torch": torch.__version__,
        "mtneuro": mtneuro.__version__,
        "mtneuro_source": _package_source_digest(),
    }
    text = json.dumps(facts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def _package_source_digest() -> str:
    """SHA-256 of the package's own source files: an editable install keeps its version
    number while its code changes, and a bench resumed after an edit must not be handed an
    encoder the old code trained. Read once per process (about 200 small files)."""
    import hashlib

    import mtneuro

    root = Path(mtneuro.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _load(path: Path, key: str) -> tuple[nn.Module, dict[str, Any]]:
    """The encoder kept at ``path`` and its random states (:class:`MtneuroError` if damaged)."""
    from mtneuro.models.checkpoint import load_encoder, read_checkpoint

    meta = read_checkpoint(path)["meta"]  # verifies the contents' digest
    if meta.get(KEY_META) != key or not isinstance(meta.get(RNG_META), dict):
        raise CheckpointError(f"{path}: expected meta.{KEY_META} {key} and meta.{RNG_META}; "
                              "not a file this store wrote")
    encoder = load_encoder(path)  # registered names only: no code the file names is run
    return encoder, meta[RNG_META]


def _keep(path: Path, key: str, config: PretrainConfig, trained: Any) -> None:
    from mtneuro.models.checkpoint import save_encoder
    from mtneuro.ssl.checkpoint import capture_rng_state

    summary = trained.summary
    meta = {"method": config.method, "seed": config.seed, "epochs": summary["epochs"],
            "steps": summary["steps"], "final_loss": summary["final_loss"], KEY_META: key,
            # CUDA's states only where CUDA runs already: reading them would start it in a
            # CPU run, where training's torch.manual_seed is still queued for CUDA and reuse
            # queues the same one
            RNG_META: capture_rng_state(start_cuda=False)}
    try:  # atomic: a reader sees no file or the whole one, so two writers of a key are safe
        # saving rebuilds the encoder to check it, which draws from torch's generator: the
        # run goes on from the state training left, as it does without a store
        with torch.random.fork_rng(devices=[]):
            save_encoder(path, trained.encoder, name=trained.name, kwargs=trained.kwargs,
                         input_spec=trained.input_spec, meta=meta)
    except OSError as err:
        warnings.warn(f"shared encoder {path} not kept ({err.strerror or err}); other runs "
                      "of this pre-training will train it again", UserWarning, stacklevel=3)


def pretrained(config: PretrainConfig, images: torch.Tensor) -> Pretrained:
    """The encoder ``pretrain_encoder(config, images)`` gives: trained, or loaded from the
    store of the enclosing :func:`shared_pretraining` block when it holds one of the same
    :func:`pretraining_key` (then the global random states are set as training leaves them).

    A kept file that does not load (damaged: truncated, digest mismatch, another key) is
    trained again and replaced, with a warning naming it.
    """
    from mtneuro.tasks.pretrain.run import pretrain_encoder

    store = current_store()
    # under torchrun every process must train: one that loaded would leave the others
    # waiting in the collective calls
    if store is None or torchrun_int("WORLD_SIZE", 1) > 1:
        trained = pretrain_encoder(config, images)
        return Pretrained(trained.encoder, dict(trained.input_spec), False, None)
    from mtneuro.ssl.checkpoint import restore_rng_state

    key = pretraining_key(config, images)
    path = store.path(key)
    if path.is_file():
        try:
            encoder, rng = _load(path, key)
        except MtneuroError as err:
            warnings.warn(f"shared encoder {path} does not load ({err}); pre-training it "
                          "again and replacing the file", UserWarning, stacklevel=2)
        else:
            torch.manual_seed(config.seed)  # as training starts: seeds (or queues) CUDA's
            restore_rng_state(rng)
            store.served.append(key)
            # training hands back a freshly built module, in training mode
            return Pretrained(encoder.train(), dict(encoder.input_spec), True, key)
    trained = pretrain_encoder(config, images)
    _keep(path, key, config, trained)
    return Pretrained(trained.encoder, dict(trained.input_spec), False, key)


__all__ = ["NO_EFFECT_ON_WEIGHTS", "Pretrained", "SharedEncoders", "current_store",
           "pretrained", "pretraining_key", "shared_pretraining"]
