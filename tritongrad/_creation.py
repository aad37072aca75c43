"""Tensor constructors, with PyTorch's names and keywords (dtype=, device=, requires_grad=)."""
import warnings

import numpy as np

from . import _dtype as dt, random as _random
from ._device import parse_device
from .backends import get as _backend
from .tensor import ONLY_FLOAT, Tensor, _sizes


def _be(device):
    return _backend("cpu" if device is None else parse_device(device).type)


def _check_dtype(dtype):
    if dtype is not None and not isinstance(dtype, dt.dtype):
        raise TypeError(f"dtype must be a tritongrad dtype such as tritongrad.float32, got {dtype!r}")
    return dtype


def _finish(raw, requires_grad):
    t = Tensor._make(raw)
    if requires_grad:
        if not t._dtype.is_floating_point:
            raise RuntimeError("O" + ONLY_FLOAT[1:])
        t._requires_grad = True
    return t


def _shape(size):
    shape = _sizes(size)
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: [{', '.join(map(str, shape))}]")
    return shape


def _host_array(data):
    """Nested sequences / scalars / arrays as a NumPy array with PyTorch's default dtypes."""
    if isinstance(data, Tensor):
        return data._host(), data._dtype
    if isinstance(data, (np.ndarray, np.generic)):  # NOTE: a NumPy scalar keeps its dtype, as in PyTorch
        return np.asarray(data), dt.from_numpy_dtype(data.dtype)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _unwrap(data)
    if isinstance(data, str):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    try:
        a = np.array(data)
    except ValueError as e:
        raise ValueError(f"expected a rectangular nested sequence of numbers: {e}") from None
    if a.dtype.kind == "f":
        return a, dt.get_default_dtype()
    if a.dtype.kind in "iu":
        return a, dt.int64
    if a.dtype.kind == "b":
        return a, dt.bool_
    raise TypeError(f"new(): invalid data type '{type(data).__name__}' (NumPy made {a.dtype} of it)")


def _flat(seq):
    for x in seq:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _unwrap(seq):
    return [_unwrap(x) if isinstance(x, (list, tuple)) else (x.item() if isinstance(x, Tensor) else x) for x in seq]


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (a number, nested sequence or NumPy array).

    Example:
        >>> tg.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    """
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() or "
                      "sourceTensor.clone().detach().requires_grad_(True), rather than "
                      "tritongrad.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
    a, inferred = _host_array(data)
    dtype = _check_dtype(dtype) or inferred
    if device is None and isinstance(data, Tensor):
        device = data.device
    if dtype is dt.bfloat16:
        raw = _be(device).astype(_be(device).from_numpy(np.asarray(a, np.float32)), dt.bfloat16)
    else:
        raw = _be(device).from_numpy(np.asarray(a, dtype.np))
    return _finish(raw, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like tensor(), but shares memory with a Tensor or CPU NumPy array when no conversion is needed."""
    if isinstance(data, Tensor):
        return data.to(device=device or data.device, dtype=dtype or data.dtype)
    if isinstance(data, np.ndarray) and (device is None or parse_device(device).type == "cpu") and (
            dtype is None or dtype.np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a):
    """A CPU tensor sharing memory with NumPy array `a`: writes to either show in both."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    dt.from_numpy_dtype(a.dtype)
    if not a.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order. Conversion "
                         "between byte orders is currently not supported.")
    return Tensor._make(a)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = (dt.bool_ if isinstance(fill_value, bool) else dt.int64 if isinstance(fill_value, int)
                 else dt.get_default_dtype())
    return _finish(_be(device).full(_shape((size,) if isinstance(size, int) else size), fill_value,
                                    _check_dtype(dtype)), requires_grad)


def _size_kw(size, kw, name):
    """The shape of f(2, 3), f((2, 3)) or f(size=(2, 3)) (kw: the other keywords), as PyTorch accepts them."""
    kw_size = kw.pop("size", None)
    if kw:
        raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kw))}'")
    if kw_size is None:
        return size
    if size:
        raise TypeError(f"{name}() got multiple values for argument 'size'")
    return (kw_size,)


def _filled(value):
    def make(*size, dtype=None, device=None, requires_grad=False, **kw):
        size = _size_kw(size, kw, make.__name__)
        return _finish(_be(device).full(_shape(size), value, _check_dtype(dtype) or dt.get_default_dtype()),
                       requires_grad)

    return make


zeros, ones = _filled(0), _filled(1)
zeros.__name__, ones.__name__ = "zeros", "ones"
zeros.__doc__ = "A tensor of zeros: zeros(2, 3) or zeros((2, 3)), with dtype=, device=, requires_grad=."
ones.__doc__ = "A tensor of ones: ones(2, 3) or ones((2, 3)), with dtype=, device=, requires_grad=."


def empty(*size, dtype=None, device=None, requires_grad=False, **kw):
    size = _size_kw(size, kw, "empty")
    return _finish(_be(device).empty(_shape(size), _check_dtype(dtype) or dt.get_default_dtype()), requires_grad)


def _random_tensor(kind, size, dtype, device, requires_grad, generator=None):
    dtype = _check_dtype(dtype) or dt.get_default_dtype()
    if not dtype.is_floating_point:
        name = "check_uniform_bounds" if kind == "rand" else "normal_kernel_cpu"
        from .ops.inplace import _SCALAR_NAMES

        raise NotImplementedError(f'"{name}" not implemented for \'{_SCALAR_NAMES[dtype.name]}\'')
    be = _be(device)
    gen = generator or _random.generator_for(be.name)
    return _finish(getattr(be, kind)(_shape(size), dtype, gen), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None, **kw):
    """Uniform samples in [0, 1)."""
    return _random_tensor("rand", _size_kw(size, kw, "rand"), dtype, device, requires_grad, generator)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None, **kw):
    """Standard normal samples."""
    return _random_tensor("randn", _size_kw(size, kw, "randn"), dtype, device, requires_grad, generator)


def randint(low, high=None, size=None, *, dtype=None, device=None, generator=None):
    """Integers uniform in [low, high)."""
    if high is None:
        low, high = 0, low
    gen = generator or _random.default_generator
    a = gen.np.integers(low, high, size=_shape(size))
    return tensor(a, dtype=dtype or dt.int64, device=device)


def _like(fn):
    def make(t, *, dtype=None, device=None, requires_grad=False):
        return fn(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)

    make.__name__ = fn.__name__ + "_like"
    return make


zeros_like, ones_like, empty_like, rand_like, randn_like = map(_like, (zeros, ones, empty, rand, randn))


def full_like(t, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from start (default 0) up to, not including, end, `step` apart."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        is_int = all(isinstance(v, int) for v in (start, end, step))
        dtype = dt.int64 if is_int else dt.get_default_dtype()
    return _finish(_be(device).arange(start, end, step, _check_dtype(dtype)), requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    a = np.linspace(start, end, steps)
    return tensor(a, dtype=dtype or dt.get_default_dtype(), device=device, requires_grad=requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    return tensor(np.eye(n, m), dtype=dtype or dt.get_default_dtype(), device=device, requires_grad=requires_grad)


def numel(t):
    return t.numel()


__all__ = ["tensor", "as_tensor", "from_numpy", "full", "zeros", "ones", "empty", "rand", "randn", "randint",
           "zeros_like", "ones_like", "empty_like", "rand_like", "randn_like", "full_like", "arange", "linspace",
           "eye", "numel"]
