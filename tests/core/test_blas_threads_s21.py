"""The thread count a command or bench cell chooses reaches numpy's BLAS too: its pool sizes
itself to every core when numpy loads, so a one-thread bench worker used to multiply matrices
(the phantom's rendering) on all cores beside its neighbour."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fresh_python import run_fresh
from threadpoolctl import threadpool_info, threadpool_limits

from mtneuro.threads import limit_blas_threads, set_torch_threads


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


@pytest.fixture(autouse=True)
def _restore_limits():
    assert np.ones(1).sum() == 1  # numpy's BLAS loaded
    if not _blas_threads():
        pytest.skip("numpy here uses no BLAS library threadpoolctl can see")
    with threadpool_limits(limits=2, user_api="blas"):  # as numpy loads on 2 cores
        yield


def test_the_torch_thread_count_is_the_blas_one_too() -> None:
    assert _blas_threads() == {2}
    set_torch_threads(1)
    assert _blas_threads() == {1}


def test_a_cell_limit_of_zero_still_leaves_one_thread() -> None:
    limit_blas_threads(0)
    assert _blas_threads() == {1}


def test_a_blas_loaded_later_gets_the_same_cap() -> None:
    """SciPy ships its own OpenBLAS, loaded when scikit-learn first solves least squares
    (task 3's in-sample fits): it sized itself to every core (a 720 x 512 fit: 9.4 s on two
    threads of a busy machine, 0.18 s on one). Checked in a fresh interpreter."""
    pytest.importorskip("scipy")
    code = ("from mtneuro.threads import limit_blas_threads\n"
            "limit_blas_threads(1)\n"
            "import scipy.linalg\n"
            "from threadpoolctl import threadpool_info\n"
            "print(sorted({p['num_threads'] for p in threadpool_info()"
            " if p['user_api'] == 'blas'}))\n")
    assert run_fresh(code, drop_env=("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")) == "[1]"


def test_a_lower_openblas_cap_of_the_users_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Review W: ``OPENBLAS_NUM_THREADS=1`` set by the user was raised to the command's 2."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    limit_blas_threads(2)
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and _blas_threads() == {1}
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "8")
    limit_blas_threads(2)
    assert os.environ["OPENBLAS_NUM_THREADS"] == "2" and _blas_threads() == {2}


def test_the_phantom_renders_its_tiles_on_one_blas_thread() -> None:
    """Small products: a second BLAS thread only waited on the first (a tile took three
    times as long on a busy machine). The pool is back to the command's count after."""
    from mtneuro.data.sources.phantom import PhantomSource

    source = PhantomSource()
    seen = []
    render = source.renderer.render

    def spying(*args, **kwargs):
        seen.append(_blas_threads())
        return render(*args, **kwargs)

    source.renderer.render = spying
    before = _blas_threads()  # the command's count (and that of a BLAS loaded since)
    source.read_channel("image", (300, 301), (500, 532), (3700, 3732))
    assert seen == [{1}] and 2 in before and _blas_threads() == before
