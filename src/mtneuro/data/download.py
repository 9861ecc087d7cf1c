"""Download catalogued datasets: resumable HTTP, SHA-256 verification, conversion.

A file is fetched from its original public URL into ``<dest>.part``; an
interrupted transfer is resumed with an HTTP ``Range`` request, retried a
bounded number of times (:mod:`mtneuro.data.retry`), then checked against its
recorded SHA-256. A body that does not match is deleted and reported; only a
matching file is moved into place. Files whose hash is not known are kept but
never reported as verified.

The monkey recordings are published as pickles of ``torch_geometric`` graphs, converted to
plain arrays by :func:`mtneuro.data.myow_pickle.convert_myow_pickle` (re-exported here). The
original is only unpickled after its SHA-256 matched the catalogue.

A converted file is verified by what the loaders check
(:func:`mtneuro.data.checksums.catalogued_check`): its bytes are the catalogue's or its
arrays are the reference conversion's; the zip bytes alone may differ with the writer.
A conversion whose arrays are not the reference's is deleted and reported, never kept as
verified.
"""

from __future__ import annotations

import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from tqdm import tqdm

from mtneuro.data.catalog import MYOW_PICKLE_TO_NPZ, CatalogFile, get_dataset
from mtneuro.data.checksums import catalogued_check, sha256_file
from mtneuro.data.download_lock import download_lock
from mtneuro.data.myow_pickle import convert_myow_pickle
from mtneuro.data.paths import ENV_VAR, user_cache_dir
from mtneuro.data.retry import RetryFailure, RetryPolicy, Verdict, retry_call
from mtneuro.errors import ChecksumError, DataError, SourceUnavailableError
from mtneuro.writable import nearest_existing, write_refusal

#: Its max_seconds bounds a whole file's download, transfers included: enough for the largest
#: catalogued file (under GitHub's 100 MB limit) at about 170 kB/s.
DEFAULT_POLICY = RetryPolicy(max_attempts=4, max_seconds=600.0, base_delay=1.0, max_delay=8.0)
#: Seconds one read of a download may stall before it counts as failed (and is retried).
DEFAULT_TIMEOUT_S = 30.0
_CHUNK = 1 << 14  # small enough that a dropped connection loses little of what arrived


class _HTTPStatusError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class _ShortBodyError(Exception):
    """The connection closed before ``Content-Length`` bytes arrived."""


class _OutOfTimeError(Exception):
    """The download's time budget ran out while the server was still sending."""


def default_download_root() -> Path:
    """``$MTNEURO_DATA`` if set, else the user cache directory (both are in the lookup order)."""
    return Path(os.environ[ENV_VAR]) if os.environ.get(ENV_VAR) else user_cache_dir()


def _classify(exc: BaseException) -> Verdict | None:
    if isinstance(exc, _HTTPStatusError):
        return "transient" if exc.status >= 500 or exc.status in (408, 429) else "permanent"
    # out of time: transient, so that the retry loop ends it at its deadline with the others
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, _ShortBodyError,
                        _OutOfTimeError)):
        return "transient"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "transient"
    return None


def _range_start(header: str | None) -> int | None:
    match = re.match(r"bytes (\d+)-", header or "")
    return int(match.group(1)) if match else None


def _fetch_once(url: str, part: Path, timeout: float, progress: bool, deadline: float) -> None:
    """One HTTP request appending to ``part`` from its current size, given up at ``deadline``
    (``time.monotonic()``): a server that trickles bytes never times a read out."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    left = deadline - time.monotonic()
    if left <= 0:
        raise _OutOfTimeError("no time left")
    with requests.get(url, headers=headers, stream=True, timeout=min(timeout, left)) as resp:
        if resp.status_code == 416 and offset:
            return  # nothing left to send: the part already holds the whole body
        if resp.status_code >= 400:
            raise _HTTPStatusError(resp.status_code)
        if resp.status_code == 206 and _range_start(resp.headers.get("Content-Range")) == offset:
            mode = "ab"
        else:  # the server ignored the range: start over
            mode, offset = "wb", 0
        length = resp.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        written = 0
        bar = tqdm(
            total=None if expected is None else offset + expected,
            initial=offset,
            unit="B",
            unit_scale=True,
            desc=part.name.removesuffix(".part"),
            disable=not (progress and sys.stderr.isatty()),
            leave=False,
        )
        with open(part, mode) as handle, bar:
            for chunk in resp.iter_content(_CHUNK):
                handle.write(chunk)
                written += len(chunk)
                bar.update(len(chunk))
                if time.monotonic() >= deadline:  # what arrived is kept: a rerun resumes it
                    raise _OutOfTimeError(f"still sending after {offset + written} bytes")
        if expected is not None and written < expected:
            raise _ShortBodyError(f"got {written} of {expected} bytes")


def fetch_url(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None,
    policy: RetryPolicy = DEFAULT_POLICY,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``, resuming and verifying.

    Processes downloading one ``dest`` at once take turns (:mod:`mtneuro.data.download_lock`):
    one that finds ``dest`` verified once its turn comes keeps it instead of fetching it.

    Args:
        sha256: expected SHA-256 of the body; ``None`` skips verification (the
            caller must then not call the file verified).
        policy: bounded retries; each retry resumes from the bytes already saved. Its
            ``max_seconds`` bounds the whole download, all tries, waits and transfers (a
            read under way may add up to ``timeout``): a server sending slowly but without
            pause is given up then, its bytes kept for the next run to resume.
        timeout: seconds to wait for the server on connect and between reads.

    Raises:
        SourceUnavailableError: not reachable within ``policy`` (one line saying
            which URL to fetch by other means and where to save it).
        ChecksumError: the complete body has another SHA-256; it was deleted.
        DataError: no file can be written where ``dest`` belongs (a read-only folder),
            another process kept downloading ``dest`` past this one's budget, or the
            partial file was removed under the download.
    """
    dest = Path(dest)
    with _download_place(dest, policy, timeout):
        if not _matches(dest, sha256):  # else done by the download this one waited for
            _fetch_into(url, dest, sha256, policy, timeout, progress)
    return dest


@contextmanager
def _download_place(dest: Path, policy: RetryPolicy, timeout: float) -> Iterator[None]:
    """Make ``dest``'s folder (checked writable before any request) and hold its download
    lock within the block; a failure leaves none of the folders made here that stay empty."""
    created = [p for p in (dest.parent, *dest.parent.parents) if not p.exists()]
    # The holder gives up within its budget, a read under way, then hashes what it got.
    wait_s = policy.max_seconds + timeout + 60.0
    try:
        _make_writable_folder(dest.parent)
        with download_lock(dest, wait_s):
            yield
    except BaseException:
        _remove_empty_folders(created)  # after the lock, whose file is gone with it
        raise


def _fetch_into(url: str, dest: Path, sha256: str | None, policy: RetryPolicy = DEFAULT_POLICY,
                timeout: float = DEFAULT_TIMEOUT_S, progress: bool = True) -> None:
    """Fill ``dest.part`` from ``url``, verify it and move it to ``dest`` (lock held)."""
    part = dest.with_name(dest.name + ".part")
    try:
        _fetch_verified(url, part, dest, sha256, policy, timeout, progress)
        os.replace(part, dest)
    except FileNotFoundError as err:
        if err.filename is None or Path(err.filename) != part:
            raise
        # Only something outside the download lock removes it (a clean-up, an older mtneuro).
        raise DataError(f"{part} was removed while {url} was being downloaded into it; "
                        "rerun the download (it starts again)") from None
    except BaseException:
        if part.is_file() and part.stat().st_size == 0:  # a partial body is kept to resume
            part.unlink()
        raise


def _make_writable_folder(folder: Path) -> None:
    """Make ``folder`` and check that files can be written in it, before any request.

    Raises:
        DataError: one line naming the first folder that refused (a read-only data root).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        refusal: OSError | None = err
    else:
        refusal = write_refusal(folder)
    if refusal is not None:  # named by the folder that refused: the nearest one that exists
        raise DataError(f"cannot write in {nearest_existing(folder)} "
                        f"({refusal.strerror or refusal}); download into a folder you can "
                        "write to (mtneuro data download NAME --root DIR)")


def _reason(error: BaseException | None, policy: RetryPolicy) -> str:
    if isinstance(error, _OutOfTimeError):
        return f"not done within its {policy.max_seconds:g} s budget: {error}"
    return str(error) if isinstance(error, _HTTPStatusError) else type(error).__name__


def _fetch_verified(url: str, part: Path, dest: Path, sha256: str | None, policy: RetryPolicy,
                    timeout: float, progress: bool) -> None:
    """Fill ``part`` from ``url`` (see :func:`fetch_url`) and check its SHA-256."""
    def say_retrying(attempt: int, error: BaseException, wait: float) -> None:
        if attempt == 1:  # once: a stalled server otherwise looks like a hung command
            warnings.warn(f"download of {url} failed ({_reason(error, policy)}); retrying, up "
                          f"to {policy.max_attempts} tries or {policy.max_seconds:g} s",
                          stacklevel=2)

    deadline = time.monotonic() + policy.max_seconds  # one budget for every try and transfer
    try:
        retry_call(lambda: _fetch_once(url, part, timeout, progress, deadline), policy=policy,
                   classify=_classify, on_retry=say_retrying, deadline=deadline)
    except RetryFailure as failure:
        why = _reason(failure.last_error, policy)
        raise SourceUnavailableError(
            f"cannot download {url} ({why} after {failure.attempts} tries); fetch it by other "
            f"means, save it as {dest} and rerun the download to verify it"
        ) from None
    if sha256 is not None:
        actual = sha256_file(part)
        if actual != sha256:
            part.unlink()
            raise ChecksumError(
                f"download of {url} is corrupted (sha256 {actual[:16]}..., expected "
                f"{sha256[:16]}...); deleted it, try again"
            )


def _remove_empty_folders(created: list[Path]) -> None:
    """Delete the folders a download created, innermost first, while they are empty (a
    partial body is kept: the next try resumes it)."""
    for folder in created:
        try:
            folder.rmdir()
        except OSError:  # not empty (a partial body, another file): keep it and its parents
            return


CONVERTERS: dict[str, Callable[[Path, Path], Path]] = {MYOW_PICKLE_TO_NPZ: convert_myow_pickle}


# --- datasets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DownloadResult:
    """What happened to one catalogued file.

    Attributes:
        path: the file under the data root.
        verified: its SHA-256 matched the catalogue; for a converted file, the
            published original's did and the conversion passes the loaders' check
            (its bytes or its arrays are the catalogue's, where those are known).
        fetched: ``False`` when an already present, verified file was kept.
        note: why it is not verified, or other remarks.
    """

    file: CatalogFile
    path: Path
    verified: bool
    fetched: bool
    note: str = ""


def _matches(path: Path, sha: str | None) -> bool:
    return sha is not None and path.is_file() and sha256_file(path) == sha


def _verified_here(file: CatalogFile, target: Path) -> bool:
    """``target`` exists and passes the loaders' own check of ``file`` (bytes or arrays)."""
    return target.is_file() and catalogued_check(file, target).state == "verified"


def download_file(file: CatalogFile, root: Path, **fetch_kwargs: Any) -> DownloadResult:
    """Fetch, verify and (if needed) convert one catalogued file into ``root``.

    Raises:
        ChecksumError: a body, a kept original or a conversion is not what the catalogue
            knows (the conversion is deleted; the verified original is kept for the rerun).
    """
    target = root / file.relative
    if _verified_here(file, target):
        return DownloadResult(file, target, verified=True, fetched=False)
    if target.is_file() and file.sha256 is None and not file.conversion:
        return DownloadResult(file, target, False, False, "present; no known SHA-256 to check")
    # One lock for the whole file, conversion included: a run that waited for another's
    # finds the target done, not an original that the other is converting or deleting.
    policy = fetch_kwargs.get("policy", DEFAULT_POLICY)
    timeout = fetch_kwargs.get("timeout", DEFAULT_TIMEOUT_S)
    with _download_place(target, policy, timeout):
        if _verified_here(file, target):  # done by the download this one waited for
            return DownloadResult(file, target, verified=True, fetched=False)
        return _download_held(file, root, target, **fetch_kwargs)


def _download_held(file: CatalogFile, root: Path, target: Path,
                   **fetch_kwargs: Any) -> DownloadResult:
    """:func:`download_file` once the download lock of ``target`` is held."""
    if not file.conversion:
        _fetch_into(file.url, target, file.sha256, **fetch_kwargs)
        note = "" if file.sha256 else "no known SHA-256: downloaded but not verified"
        return DownloadResult(file, target, file.sha256 is not None, fetched=True, note=note)
    if file.body_sha256 is None:
        raise DataError(f"{file.url}: no known SHA-256, refusing to convert an unverified pickle")
    original = root / file.download_relative
    if original.is_file() and not _matches(original, file.body_sha256):
        raise ChecksumError(
            f"{original} does not match the published file's sha256 {file.body_sha256[:16]}...; "
            "delete it and rerun the download"
        )
    if not original.is_file():
        _fetch_into(file.url, original, file.body_sha256, **fetch_kwargs)
    CONVERTERS[file.conversion](original, target)
    check = catalogued_check(file, target)
    if check.state == "checksum mismatch":
        # Loading would refuse it: never report it verified, never leave it to be found.
        target.unlink()
        raise ChecksumError(
            f"the conversion of {original} is not the catalogue's ({check.reason}); "
            f"deleted {target.name}, kept the verified original: "
            "report this with your numpy and torch versions"
        )
    original.unlink()
    note = check.reason if check.state == "verified" else ""  # says when only the arrays match
    return DownloadResult(file, target, verified=True, fetched=True, note=note)


def download_dataset(
    name: str, root: str | Path | None = None, **fetch_kwargs: Any
) -> list[DownloadResult]:
    """Download every file of catalogued dataset ``name`` into ``root``.

    Args:
        root: data root (default :func:`default_download_root`); files land at
            ``root/<relative>``, where :func:`mtneuro.data.paths.find_data_file` looks.
        **fetch_kwargs: ``policy``, ``timeout``, ``progress`` for :func:`fetch_url`.
    """
    dataset = get_dataset(name)
    base = Path(root) if root is not None else default_download_root()
    return [download_file(f, base, **fetch_kwargs) for f in dataset.files]
