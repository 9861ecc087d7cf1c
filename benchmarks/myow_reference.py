"""Run the MYOW reference code here: its MYOW against the same code with the mined term off.

Issue 15 asks whether MYOW's mined views beat BYOL on recordings nobody tuned on. This
script asks the same of the reference implementation (``nerdslab/myow-neuro``,
``train_monkey.py``, its defaults: 10,000 epochs, AdamW lr 2e-4, mined weight 0.5, k 5):
for each recording and seed it trains once with ``--mined_weight 0.5`` (MYOW) and once with
``--mined_weight 0`` (the same code with the mined loss weighted 0: BYOL on the same
augmentations and temporal positives). The two runs of a seed draw the same batches and
augmentations (the weight changes no random draw), so their difference is paired.

The reference code needs a few compatibility edits to run on current torch and torch_geometric;
they are made on a copy of the checkout under ``--out`` (the checkout itself is not touched),
and each one fails loudly if the text it replaces is not there:

* ``train_monkey.py`` imports tensorflow only to stub ``tf.io.gfile`` for tensorboard: removed;
* ``RandomIndexSampler`` calls ``Sampler.__init__(None)``, which torch >= 2.2 refuses: no argument;
* ``Batch.keys`` became a method in torch_geometric 2.4: called;
* the final print has two decimals: four;
* the epoch loop's hard-coded ``num_epochs = 10000`` reads the ``--num_epochs`` flag (default
  10000, so default runs are unchanged; the learning-rate schedule already used the flag).

Runs use ``--num_workers 0`` (augmentations in the main process; the default 4 workers draw
from other random streams, so a seed's numbers differ from a default run's, not their spread).
Needs ``torch_geometric``, ``absl-py``, ``tensorboard``, ``tqdm`` and ``scipy`` importable
(e.g. ``pip install --target DEPS ...`` and ``--pythonpath DEPS``).

    git clone https://github.com/nerdslab/myow-neuro /tmp/myow-neuro
    python benchmarks/myow_reference.py --repo /tmp/myow-neuro --out runs/myow_reference
    python benchmarks/myow_reference.py --out runs/myow_reference --summarise   # table only
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mtneuro.report.published import Stat
from mtneuro.threads import available_cpus, threads_per_job

RECORDINGS = {"chewie-1": ("chewie", 1), "chewie-2": ("chewie", 2), "mihi-1": ("mihi", 1)}
WEIGHTS = {"myow": 0.5, "mined weight 0": 0.0}

#: (file, text the reference code has, what it becomes)
EDITS = [
    ("train_monkey.py", "import tensorflow as tf\n", ""),
    ("train_monkey.py", "import tensorboard as tb\n", ""),
    ("train_monkey.py", "tf.io.gfile = tb.compat.tensorflow_stub.io.gfile\n", ""),
    ("train_monkey.py", "    num_epochs = 10000\n", "    num_epochs = FLAGS.num_epochs\n"),
    ("train_monkey.py", "'Accuracy: %.2f\\nDelta-Accuracy: %.2f'",
     "'Accuracy: %.4f\\nDelta-Accuracy: %.4f'"),
    ("myow/samplers/relative_positioning_dataloader.py",
     "super(RandomIndexSampler, self).__init__(None)",
     "super(RandomIndexSampler, self).__init__()"),
    ("myow/data/monkey_neural_dataset.py", "self._full_data.keys:", "self._full_data.keys():"),
]


def prepared_copy(repo: Path, out: Path) -> Path:
    """A copy of the reference checkout under ``out`` with :data:`EDITS` applied."""
    code = out / "code"
    if code.exists():
        shutil.rmtree(code)
    shutil.copytree(repo, code, ignore=shutil.ignore_patterns(".git"))
    for name, old, new in EDITS:
        path = code / name
        text = path.read_text()
        if old not in text:
            sys.exit(f"{path}: expected to find {old!r} to edit; is --repo a nerdslab/myow-neuro "
                     "checkout of the version this script knows?")
        path.write_text(text.replace(old, new, 1))
    return code


def run_name(recording: str, weight: float, seed: int) -> str:
    return f"{recording}-w{weight:g}-s{seed}"


def run_one(code: Path, out: Path, recording: str, weight: float, seed: int, threads: int,
            pythonpath: list[str], epochs: int = 10000) -> dict:
    primate, day = RECORDINGS[recording]
    name = run_name(recording, weight, seed)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join([str(code), *pythonpath])}
    cmd = [sys.executable, "train_monkey.py", f"--seed={seed}", f"--primate={primate}",
           f"--day={day}", f"--mined_weight={weight}", f"--num_epochs={epochs}",
           f"--linear_eval_epochs={min(200, epochs)}", "--num_workers=0",
           f"--logdir={out / 'logs' / name}"]
    start = time.perf_counter()
    with open(out / f"{name}.log", "w") as log:
        rc = subprocess.call(cmd, cwd=code, env=env, stdout=log, stderr=subprocess.STDOUT)
    row = {"recording": recording, "weight": weight, "seed": seed, "rc": rc,
           "wall_s": round(time.perf_counter() - start, 1), **parse_log(out / f"{name}.log")}
    print(json.dumps(row), flush=True)
    return row


def parse_log(path: Path) -> dict:
    """Test accuracy and delta-accuracy from the reference script's last lines."""
    text = path.read_text(errors="replace")
    # tqdm's last redraw ends in a carriage return, not a newline, before the final print
    found = {key: re.findall(rf"(?:^|\r){label}: ([0-9.]+)$", text, flags=re.MULTILINE)
             for key, label in (("accuracy", "Accuracy"), ("delta_accuracy", "Delta-Accuracy"))}
    return {key: float(values[-1]) for key, values in found.items() if values}


def summary(rows: list[dict]) -> str:
    """Per recording: each weight's mean ± std over seeds, and the paired difference per seed."""
    lines = [("| recording | seeds | reference MYOW acc / δ | reference, mined weight 0 acc / δ "
              "| MYOW − weight 0, accuracy per seed (mean) | δ-accuracy per seed (mean) |"),
             "|---|---|---|---|---|---|"]
    for recording in RECORDINGS:
        runs = {(r["weight"], r["seed"]): r for r in rows
                if r["recording"] == recording and r.get("rc") == 0 and "accuracy" in r}
        seeds = sorted({s for (w, s) in runs if (WEIGHTS["myow"], s) in runs
                        and (WEIGHTS["mined weight 0"], s) in runs})
        if not seeds:
            continue
        cells = []
        for weight in WEIGHTS.values():
            # mean ± std over seeds; one seed shows its value alone (no spread to show)
            cells.append(" / ".join(Stat.of([runs[weight, s][k] for s in seeds]).format()
                                    for k in ("accuracy", "delta_accuracy")))
        for key in ("accuracy", "delta_accuracy"):
            diffs = [runs[WEIGHTS['myow'], s][key] - runs[WEIGHTS['mined weight 0'], s][key]
                     for s in seeds]
            cells.append(", ".join(f"{d:+.3f}" for d in diffs) + f" ({np.mean(diffs):+.3f})")
        lines.append(f"| {recording} | {' '.join(map(str, seeds))} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, help="a nerdslab/myow-neuro checkout")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", nargs="+", default=list(RECORDINGS), choices=list(RECORDINGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    parser.add_argument("--num-epochs", type=int, default=10000,
                        help="reference epochs (its default 10000; fewer only to check the setup)")
    parser.add_argument("--pythonpath", nargs="*", default=[],
                        help="folders with the reference code's dependencies")
    parser.add_argument("--summarise", action="store_true", help="only print the table of --out")
    args = parser.parse_args()
    results = args.out / "results.jsonl"
    if not args.summarise:
        if args.repo is None:
            parser.error("--repo is required unless --summarise")
        args.out.mkdir(parents=True, exist_ok=True)
        code = prepared_copy(args.repo, args.out)
        threads = threads_per_job(args.jobs, available_cpus())
        grid = [(r, w, s) for s, r, w in itertools.product(args.seeds, args.data, WEIGHTS.values())]
        lock = threading.Lock()

        def job(recording: str, weight: float, seed: int) -> dict:
            row = run_one(code, args.out, recording, weight, seed, threads, args.pythonpath,
                          args.num_epochs)
            with lock, open(results, "a") as sink:  # a line per finished run: a stop keeps them
                sink.write(json.dumps(row) + "\n")
            return row

        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda point: job(*point), grid))
    if not results.is_file():
        sys.exit(f"{results}: no runs recorded there (run without --summarise first)")
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    print(summary(rows))
    for row in rows:
        if row.get("rc") != 0 or "accuracy" not in row:
            name = run_name(row["recording"], row["weight"], row["seed"])
            print(f"left out: {name} (exit code {row.get('rc')}; see {args.out / name}.log)")


if __name__ == "__main__":
    main()
