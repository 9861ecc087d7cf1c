"""Exceptions a user can act on.

Every error the command line reports as one line (no traceback) derives from
:class:`MtneuroError`; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class MtneuroError(Exception):
    """An error caused by input the user controls; its message says what to fix."""


class ConfigError(MtneuroError, ValueError):
    """A configuration key or value is unknown or out of range."""


class DataError(MtneuroError):
    """Data is missing, malformed or does not match its recorded checksum."""


class ChecksumError(DataError):
    """A file or chunk does not match its recorded SHA-256."""


class CheckpointError(DataError):
    """A checkpoint is missing, does not load safely (``weights_only=True``) or lacks keys."""


class SourceUnavailableError(DataError):
    """A remote source could not be reached within the retry budget."""


class TrainingError(MtneuroError):
    """Training stopped because it could not continue (for example a NaN loss)."""
