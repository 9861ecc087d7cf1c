"""Bench adapters of tasks outside the task contract: only neural decoding, until issue 16b
(:mod:`mtneuro.bench.legacy`)."""
