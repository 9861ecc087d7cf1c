"""A task-2 resume continues the run its checkpoints belong to, with that run's seeds.

Each ``seed<N>.pt`` records in its run record the seeds the run was started with
(``fingerprint.seeds``). A resume with other seeds used to train the new seeds from scratch
beside the old checkpoints and finish as a run of the new seeds, after which the interrupted
seeds could never be resumed (the finished-run check then refused them); :func:`check_resume_seeds`
refuses it before any tile is read. A checkpoint written before the seeds were recorded is
judged by its file name only: refused when its seed is not among the new seeds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from mtneuro.checkpoint_io import load_state
from mtneuro.errors import ConfigError
from mtneuro.ssl.checkpoint import AFRESH

#: The key of the run's seeds in a checkpoint's ``record["fingerprint"]``.
SEEDS_KEY = "seeds"
_SEED_FILE = re.compile(r"seed(\d+)\.pt")
_HOW = "use another --out, or start it afresh with --overwrite instead of --resume"


def seed_checkpoint(checkpoint_dir: str | Path, seed: int) -> Path:
    """Where a run's training checkpoint of ``seed`` is kept."""
    return Path(checkpoint_dir) / f"seed{seed}.pt"


def _seed_files(checkpoint_dir: Path) -> list[tuple[int, Path]]:
    """The ``seed<N>.pt`` files in ``checkpoint_dir``, by seed."""
    found = [(int(m.group(1)), p) for p in checkpoint_dir.glob("seed*.pt")
             if (m := _SEED_FILE.fullmatch(p.name)) and p.is_file()]
    return sorted(found)


def check_resume_seeds(checkpoint_dir: str | Path, seeds: Sequence[int]) -> set[int]:
    """Refuse to resume the run whose checkpoints ``checkpoint_dir`` holds with ``seeds``
    other than it was started with.

    Returns:
        The seeds whose checkpoint records no seeds (written by an older mtneuro): their
        resume leaves the seeds out of the run record, as it was saved, so that it matches.

    Raises:
        ConfigError: a checkpoint records other seeds, or (one that records none) is of a
            seed not in ``seeds``; naming the file, the old and the new seeds.
        CheckpointError: a checkpoint does not load.
    """
    now = [int(s) for s in seeds]
    unrecorded: set[int] = set()
    for seed, path in _seed_files(Path(checkpoint_dir)):
        # map_location cpu: only the record is read here; training loads it onto its device
        state = load_state(path, what="task 2 checkpoint", required={"record": dict},
                           map_location="cpu", damaged_fix=AFRESH)
        fingerprint = state["record"].get("fingerprint")
        recorded = fingerprint.get(SEEDS_KEY) if isinstance(fingerprint, dict) else None
        if recorded is None:
            if seed not in now:
                raise ConfigError(
                    f"--resume: checkpoint {path} is of seed {seed}, not among the seeds now "
                    f"{now} (it records no seed list: written by an older mtneuro); resume it "
                    f"with the seeds it was started with, {_HOW}")
            unrecorded.add(seed)
        elif recorded != now:
            given = " ".join(str(s) for s in recorded) if isinstance(recorded, list) else recorded
            raise ConfigError(
                f"--resume: checkpoint {path} was written by a run of other seeds (seeds was "
                f"{recorded!r}, now {now!r}); resume it with the seeds it was started with "
                f"(--seeds {given}), {_HOW}")
    return unrecorded
