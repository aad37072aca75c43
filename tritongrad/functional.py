"""Module-level functions (tritongrad.exp(x), tritongrad.where(c, a, b), ...), as in PyTorch."""
from collections import namedtuple

from . import _dtype as dt
from ._tensor_math import _as_tensor
from .ops import elementwise as EW
from .ops.util import check_device, cpu_scalar_to, result_type
from .tensor import Tensor

_RETURN_TYPES = {name: namedtuple(name, ["values", "indices"]) for name in ("max", "min")}


def return_types(values, indices, name):
    """(values, indices) as a named tuple, as torch.return_types.max / min."""
    return _RETURN_TYPES[name](values, indices)


def where(condition, input=None, other=None):
    """Elements of `input` where `condition` holds, else of `other` (tensors or numbers, broadcast).
    With the condition alone: nonzero(condition, as_tuple=True)."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if not isinstance(condition, Tensor) or condition.dtype is not dt.bool_:
        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{getattr(condition, 'dtype', type(condition).__name__)}")
    a = _as_tensor(input, condition if not isinstance(other, Tensor) else other)
    b = _as_tensor(other, a)
    cuda = next((t for t in (condition, a, b) if t.is_cuda), a)  # NOTE: 0-d CPU tensors join it (as scalars)
    condition, a, b = (cpu_scalar_to(cuda, t) for t in (condition, a, b))
    check_device(condition, a)
    check_device(a, b)
    rt = result_type(a, b)
    return EW.Where.apply(condition, a.to(rt), b.to(rt))


def _method(name):
    def fn(input, *args, **kwargs):
        if not isinstance(input, Tensor):  # NOTE: PyTorch's TypeError, not an AttributeError of a number
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"tritongrad.{name}(x, ...) is x.{name}(...)."
    return fn


_METHODS = ("add sub mul div pow neg abs exp log sqrt sin cos sigmoid tanh relu sign square reciprocal clamp clip "
            "clamp_min clamp_max maximum minimum eq ne lt le gt ge sum mean max min argmax argmin all any matmul mm "
            "t transpose permute reshape flatten squeeze unsqueeze logical_and logical_or logical_not clone detach "
            "equal true_divide multiply subtract negative greater less select narrow log1p expm1 remainder fmod "
            "floor_divide").split()
globals().update({name: _method(name) for name in _METHODS})
from ._math_methods import FUNCTIONS as MATH_FUNCTIONS, einsum  # noqa: E402,F401  NOTE: tritongrad.sort, .norm, ...

globals().update({name: _method(name) for name in MATH_FUNCTIONS})


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(t):
    return t.is_floating_point()
