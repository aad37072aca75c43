"""Launch helpers shared by the kernel families: shapes, broadcasting, dim collapsing, allocation."""
import functools
import itertools
import os

from .._dtype import bfloat16, bool_, float16, float32, float64
from ..cuda import memory
from ..cuda.array import DeviceArray  # noqa: F401  (the wrappers use U.DeviceArray)

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


def next_power_of_2(n):
    """The smallest power of two >= n (1 for n <= 1). NOTE: triton.next_power_of_2 is a constexpr
    function since triton 3.9, whose Python call costs about a microsecond."""
    return 1 << max(n - 1, 0).bit_length()


_sms = None


def num_sms():
    """The GPU's multiprocessors (a persistent kernel's grid); 4 under the interpreter (few programs)."""
    global _sms
    if _sms is None:
        if INTERPRET:
            _sms = 4
        else:
            from ..cuda import _runtime as rt
            attr = rt.cu.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
            _sms = int(rt.check(rt.cu.cuDeviceGetAttribute(attr, rt.cu_device)))
    return _sms


def empty(shape, dtype):
    return memory.empty(tuple(shape), dtype)


@functools.lru_cache(maxsize=4096)
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


_plans = {}


def plan(shape, arrays, zero=None):
    """Launches of a strided elementwise kernel over `shape` (cached per shape and layouts).

    `arrays` broadcast to `shape` (the one at index `zero`, if any, is read with zero strides).
    Returns [(deltas, grid, args, meta)]: element offsets to add to each array (None: none), the
    grid, the arguments after the pointers and scalars (n, S1..S3, T0..T3 per array) and NDIM /
    I64 / BLOCK. More than MAX_DIMS dims that do not collapse give one launch per leading index.
    """
    key = (shape, zero, *((a.shape, a.strides) for a in arrays))
    got = _plans.get(key)
    if got is None:
        if len(_plans) > 4096:  # NOTE: a bound, not an LRU: shapes in a training loop repeat
            _plans.clear()
        got = _plans[key] = _make_plan(shape, arrays, zero)
    return got


def _make_plan(shape, arrays, zero):
    strides = [(0,) * len(shape) if i == zero else broadcast_strides(a, shape) for i, a in enumerate(arrays)]
    shp, sts = collapse(shape, strides)
    lead = max(len(shp) - MAX_DIMS, 0)
    out = []
    # NOTE: rare (more than 4 dims that do not merge): one launch per index of the leading dims
    for idx in itertools.product(*(range(s) for s in shp[:lead])):
        deltas = [sum(i * t for i, t in zip(idx, st[:lead])) for st in sts] if lead else None
        out.append((deltas, *_launch_args(shp[lead:], [st[lead:] for st in sts])))
    return out


def _launch_args(shp, sts):
    nd = len(shp)
    n = numel(shp)
    # NOTE: int32 index math (divisions are several times cheaper) only where every offset fits.
    use_i64 = n > _I32_MAX or any(sum((s - 1) * abs(t) for s, t in zip(shp, st)) > _I32_MAX for st in sts)
    args = [n] + ([1] * (MAX_DIMS - nd) + list(shp))[1:]
    for st in sts:
        args += [0] * (MAX_DIMS - nd) + list(st)
    block = block_for(n)
    return (cdiv(n, block),), tuple(args), dict(NDIM=nd, I64=use_i64, BLOCK=block)


def block_for(n):
    """Elements per program of a flat kernel."""
    if INTERPRET:  # NOTE: ~1 ms per program instance in the interpreter: as few as possible
        return max(16, min(1 << max(n - 1, 0).bit_length(), 1 << 15))
    return 1024


def scalar_args(value, dtype):
    """A Python scalar as the (float, int) kernel argument pair; the kernel reads the one of its dtype."""
    if dtype in FLOATS:
        return float(value), 0
    if dtype is bool_:
        return 0.0, int(bool(value))
    return 0.0, int(value)
