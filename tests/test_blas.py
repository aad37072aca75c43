"""The CPU backend's matrix product (backends/_blas.py): NumPy's values, and the OpenBLAS thread count
the user had is back after every product, small or large."""
import numpy as np
import pytest

from tritongrad.backends import _blas

SHAPES = [((64, 1000), (1000, 100)), ((1000, 64), (64, 100)), ((3, 5), (5, 2)), ((2, 70, 90), (90, 60)),
          ((7,), (7, 3)), ((300, 400), (400, 300))]


@pytest.mark.parametrize("sa,sb", SHAPES)
def test_values_and_thread_count(sa, sb):
    rng = np.random.default_rng()
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    before = _blas._THREADS[0]() if _blas._THREADS else None
    np.testing.assert_allclose(_blas.matmul(a, b), np.matmul(a, b), rtol=1e-5, atol=1e-4)
    if before is not None:
        assert _blas._THREADS[0]() == before


def test_one_thread_inside_small_products(monkeypatch):
    """A product in (2^18, 2^25) multiply-adds runs with OpenBLAS on one thread, then the count returns."""
    if _blas._THREADS is None:
        pytest.skip("NumPy's BLAS is not a bundled OpenBLAS")
    get, put = _blas._THREADS
    user = get()
    put(2)
    seen = []
    real = np.matmul
    monkeypatch.setattr(_blas.np, "matmul", lambda a, b: (seen.append(get()), real(a, b))[1])
    a, b = np.ones((64, 1000), np.float32), np.ones((1000, 100), np.float32)
    _blas.matmul(a, b)
    _blas.matmul(np.ones((3, 4)), np.ones((4, 5)))  # NOTE: small: OpenBLAS is single-threaded anyway
    try:
        assert seen == [1, 2] and get() == 2
    finally:
        put(user)


def test_set_num_threads_is_pytorchs(torch):
    """tg.set_num_threads / get_num_threads: PyTorch's names, argument errors and round trip; the count is
    OpenBLAS's own, so NumPy's products use it too."""
    import tritongrad as tg

    user = tg.get_num_threads()
    try:
        for n in (1, np.int64(2), 3):
            tg.set_num_threads(n)
            assert tg.get_num_threads() == int(n)
            if _blas._THREADS is not None:
                assert _blas._THREADS[0]() == int(n)
        for bad in (0, -1, 1.5, "2", True, None):
            with pytest.raises(RuntimeError) as want:
                torch.set_num_threads(bad)
            with pytest.raises(RuntimeError) as got:
                tg.set_num_threads(bad)
            assert str(got.value) == str(want.value)
            assert tg.get_num_threads() == 3  # NOTE: a refused call changes nothing
    finally:
        tg.set_num_threads(user)
        torch.set_num_threads(user)


def test_set_num_threads_without_openblas_warns(monkeypatch):
    import tritongrad as tg

    monkeypatch.setattr(_blas, "_THREADS", None)
    with pytest.warns(UserWarning, match="cannot set its thread count"):
        tg.set_num_threads(2)
    assert tg.get_num_threads() >= 1
