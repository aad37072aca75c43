"""NumPy implementations of the division family, with PyTorch's semantics: remainder (the divisor's
sign, Python's %), fmod (the dividend's sign, C's), and division rounded toward -inf (floor) or
toward 0 (trunc). Each is called like a ufunc (`out=` included), as the CPU backend calls binary
primitives. Integer division by zero raises PyTorch's CPU error before anything is written (NumPy
would warn and give 0).
"""
import numpy as np


def _ints(a, b):
    """Whether this is integer division, and then the check PyTorch's CPU kernels make."""
    if np.asarray(a).dtype.kind not in "iub" or np.asarray(b).dtype.kind not in "iub":
        return False
    if (np.asarray(b) == 0).any():
        raise RuntimeError("ZeroDivisionError")
    return True


def _remainder(a, b):
    if _ints(a, b):
        return np.remainder(a, b)
    m = np.fmod(a, b)  # NOTE: then PyTorch's adjustment, so a zero keeps the dividend's sign as there
    return np.where((m != 0) & ((b < 0) != (m < 0)), m + b, m)


def _fmod(a, b):
    _ints(a, b)
    return np.fmod(a, b)


def _div_floor(a, b):
    _ints(a, b)
    return np.floor_divide(a, b)  # NOTE: NumPy's float algorithm is PyTorch's (div_floor_floating)


def _div_trunc(a, b):
    if _ints(a, b):
        return np.floor_divide(a - np.fmod(a, b), b)  # NOTE: exact: a - fmod(a, b) is a multiple of b
    return np.trunc(np.true_divide(a, b))


def _as_ufunc(fn):
    def call(a, b, out=None, **kwargs):
        with np.errstate(divide="ignore", invalid="ignore"):  # NOTE: float x / 0 is inf or NaN, silently
            r = fn(a, b)
        if out is None or out is ...:
            return np.asarray(r)
        out[...] = r
        return out
    call.__name__ = fn.__name__.lstrip("_")
    return call


remainder, fmod, div_floor, div_trunc = map(_as_ufunc, (_remainder, _fmod, _div_floor, _div_trunc))
