"""The CPU backend's matrix product: NumPy's, run on one OpenBLAS thread when the product is small.

Why (the backends boundary's one BLAS fast path): OpenBLAS splits a product of more than 4 * 65536
multiply-adds over its threads, and each worker then spins for about 2^28 cycles (~0.1 s) waiting
for the next one before it sleeps. Whether that pays depends on the host, and on this 2-core VM it
flips between two phases, each lasting seconds to minutes (the tutorial's 64x1000->100->10 step,
timed in alternating blocks in one process by `scripts/interleaved_steps.py --providers
tritongrad-cpu,tritongrad-cpu-threaded,torch-cpu --print-rounds`):
- two vCPUs on two cores: the 64x1000x100 product takes 100 us on two threads against 144 us on one,
  and the step 333-355 us against 410 us (PyTorch, two MKL threads: 364-370 us);
- two busy vCPUs sharing a core: the two-thread product takes 146-177 us, no faster, and the spinning
  worker slows everything else: the step takes 600-836 us on two threads, 410-490 us on one (PyTorch:
  547-623 us).
One thread for these mid-size products is the choice without a bad phase. A choice made by timing
the products would make results depend on the run: for this shape OpenBLAS's one- and two-thread
products differ in the last bits. Below SMALL multiply-adds the products run on one thread and the
thread count is put back afterwards (0.8 us for the two calls); larger products, where the arithmetic
dominates, keep the user's setting (set_num_threads). Where NumPy's BLAS is not the OpenBLAS it ships
(MKL, Accelerate, a system BLAS), nothing is changed.
"""
import ctypes
import glob
import os

import numpy as np

SMALL = 1 << 25  # multiply-adds: ~0.75 ms on one thread of this 2-core VM
_OPENBLAS_MIN = 4 * 65536  # OpenBLAS runs products up to this size on one thread by itself


def _openblas():
    """(get_num_threads, set_num_threads) of the OpenBLAS that NumPy's wheel bundles, or None."""
    root = os.path.dirname(np.__file__)
    dirs = (root + ".libs", os.path.join(root, ".dylibs"))  # NOTE: Linux and Windows wheels; macOS wheels
    for path in [p for d in dirs for p in glob.glob(os.path.join(d, "*openblas*"))]:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""), ("openblas", "64_"),
                               ("openblas", "")):  # NOTE: NumPy 2 wheels, then NumPy 1.26's
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                get.restype, get.argtypes = ctypes.c_int, []
                put.restype, put.argtypes = None, [ctypes.c_int]
                return get, put
    return None


_THREADS = _openblas()


def matmul(a, b):
    """np.matmul(a, b), on one OpenBLAS thread when the product has OpenBLAS-threaded but small size."""
    if _THREADS is None or a.size * b.shape[-1] <= _OPENBLAS_MIN:
        # NOTE: the tiny products of an overhead-bound step leave first: a.size * N bounds each product's
        # multiply-adds (a batch's too); the full test below is 3% of bench_overhead's net_small_step
        return np.matmul(a, b)
    if a.ndim > 1 and b.ndim > 1:
        macs = a.shape[-2] * a.shape[-1] * b.shape[-1]
        if _OPENBLAS_MIN < macs < SMALL:
            get, put = _THREADS
            n = get()
            if n > 1:
                put(1)
                try:
                    return np.matmul(a, b)
                finally:
                    put(n)
    return np.matmul(a, b)


def get_num_threads():
    """torch.get_num_threads(): the threads the CPU backend's larger products may use, NumPy's OpenBLAS's
    count (the machine's CPU count where NumPy's BLAS is another, which keeps its own setting)."""
    return _THREADS[0]() if _THREADS is not None else os.cpu_count() or 1


def set_num_threads(n):
    """torch.set_num_threads(n): the threads NumPy's OpenBLAS may use, for every later product (products
    under SMALL multiply-adds still run on one, see matmul). Elementwise work is single-threaded NumPy."""
    if isinstance(n, bool) or not hasattr(type(n), "__index__"):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n.__index__() <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    if _THREADS is None:
        import warnings

        warnings.warn("set_num_threads: NumPy's BLAS here is not the OpenBLAS its wheel bundles, so tritongrad "
                      "cannot set its thread count; set that library's own variable (OMP_NUM_THREADS, "
                      "MKL_NUM_THREADS) before starting Python", stacklevel=2)
        return
    _THREADS[1](n.__index__())
