"""The CPU backend's matrix product: NumPy's, run on one OpenBLAS thread when the product is small.

Why (the backends boundary's one BLAS fast path): OpenBLAS splits a product of more than 4 * 65536
multiply-adds over its threads, and each worker then spins for about 2^28 cycles (~0.1 s) waiting
for the next one before it sleeps. On a 2-core machine that spinning worker slows the Python code
that runs meanwhile, which in an autograd step is everything between the products: pure Python
measured 68 us alone and 116-131 us after a two-thread product. The tutorial's 64x1000->100->10
step (two products of 6.4M multiply-adds, 145 us on one thread, 80-106 us on two) took 392-1018 us
per process under the default two threads, against 422-586 us on one. Below SMALL multiply-adds the
second thread saves less than the spinning costs, so those products run on one thread and the
thread count is put back afterwards (0.8 us for the two calls); larger products, where the
arithmetic dominates, keep the user's setting. Where NumPy's BLAS is not the OpenBLAS it ships
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
