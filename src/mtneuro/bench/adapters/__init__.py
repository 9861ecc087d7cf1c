"""Bench adapters: one module per task, turning a suite cell into the task's config and back.

See :mod:`mtneuro.bench.tasks` for the functions each adapter defines.
"""
