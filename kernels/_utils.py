"""Launch helpers shared by the kernel families: shapes, broadcasting, dim collapsing, allocation."""
import os

from .._dtype import bfloat16, bool_, float16, float32, float64
from ..cuda import memory
from ..cuda.array import DeviceArray

# NOTE: read once, after tritongrad.cuda._lazy_init() (kernels/__init__.py) set it in emulated mode.
INTERPRET = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")

MAX_DIMS = 4  # strided kernels index at most this many (collapsed) dims; more are split in Python
_I32_MAX = 2**31 - 1

FLOATS = (float32, float64, float16, bfloat16)


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def cdiv(a, b):
    return -(-a // b)


def empty(shape, dtype):
    return memory.empty(tuple(shape), dtype)


def broadcast_shapes(*shapes):
    """NumPy's broadcast of several shapes, or a ValueError naming them."""
    nd = max(len(s) for s in shapes)
    out = []
    for i in range(nd):
        size = 1
        for s in shapes:
            d = s[i - nd + len(s)] if i - nd + len(s) >= 0 else 1
            if d != 1:
                if size not in (1, d):
                    raise ValueError(f"shapes {' '.join(map(str, shapes))} cannot be broadcast together")
                size = d
        out.append(size)
    return tuple(out)


def broadcast_strides(a, shape):
    """Strides (in elements) of DeviceArray `a` broadcast to `shape`: 0 along new and size-1 dims."""
    pad = len(shape) - a.ndim
    if pad < 0:
        raise ValueError(f"cannot broadcast shape {a.shape} to {tuple(shape)}")
    strides = [0] * pad
    for size, st, want in zip(a.shape, a.strides, shape[pad:]):
        if size == want:
            strides.append(st if size != 1 else 0)
        elif size == 1:
            strides.append(0)
        else:
            raise ValueError(f"cannot broadcast shape {a.shape} to {tuple(shape)}")
    return tuple(strides)


def collapse(shape, strides_list):
    """Drop size-1 dims and merge neighbours that are contiguous in every operand.

    NOTE: a contiguous (or scalar-broadcast) operand set collapses to one dim of stride 1 (or 0),
    which Triton specializes into unit-stride, vectorized loads: this is the fast path.
    """
    shp, sts = [], [[] for _ in strides_list]
    for i, size in enumerate(shape):
        if size == 1:
            continue
        if shp and all(st[-1] == s[i] * size for st, s in zip(sts, strides_list)):
            shp[-1] *= size
            for st, s in zip(sts, strides_list):
                st[-1] = s[i]
        else:
            shp.append(size)
            for st, s in zip(sts, strides_list):
                st.append(s[i])
    if not shp:
        return [1], [[0] for _ in strides_list]
    return shp, sts


def nd_launches(shape, arrays, strides_list):
    """Split an elementwise launch over `shape` into launches of at most MAX_DIMS collapsed dims.

    Yields (arrays, n, sizes, strides, ndim, use_i64) per launch: `sizes` are S1..S3 and `strides`
    T0..T3 per operand (left-padded), ready to splat into a strided kernel's arguments.
    """
    shp, sts = collapse(shape, strides_list)
    lead = len(shp) - MAX_DIMS
    if lead <= 0:
        yield _launch_args(arrays, shp, sts)
        return
    # NOTE: rare (more than 4 dims that do not merge): one launch per index of the leading dims.
    import itertools
    for idx in itertools.product(*(range(s) for s in shp[:lead])):
        sub = [DeviceArray(a.buf, a.offset + sum(i * t for i, t in zip(idx, st[:lead])), a.shape, a.strides,
                           a.dtype) for a, st in zip(arrays, sts)]
        yield _launch_args(sub, shp[lead:], [st[lead:] for st in sts])


def _launch_args(arrays, shp, sts):
    nd = len(shp)
    sizes = [1] * (MAX_DIMS - nd) + list(shp)
    n = numel(shp)
    # NOTE: int32 index math (divisions are several times cheaper) only where every offset fits.
    use_i64 = n > _I32_MAX or any(sum((s - 1) * abs(t) for s, t in zip(shp, st)) > _I32_MAX for st in sts)
    strides = []
    for st in sts:
        strides += [0] * (MAX_DIMS - nd) + list(st)
    return arrays, n, sizes[1:], strides, nd, use_i64


def scalar_args(value, dtype):
    """A Python scalar as the (float, int) kernel argument pair; the kernel reads the one of its dtype."""
    if dtype in FLOATS:
        return float(value), 0
    if dtype is bool_:
        return 0.0, int(bool(value))
    return 0.0, int(value)
