"""Module-level functions (tritongrad.exp(x), tritongrad.where(c, a, b), ...), as in PyTorch."""
from collections import namedtuple

from . import _dtype as dt
from ._args import UNSET as _UNSET
from ._signatures import where_values
from ._tensor_math import _as_tensor
from .ops import elementwise as EW
from .ops.util import check_device, cpu_scalar_to, result_type
from .tensor import Tensor

_RETURN_TYPES = {name: namedtuple(name, ["values", "indices"]) for name in ("max", "min")}


def return_types(values, indices, name):
    """(values, indices) as a named tuple, as torch.return_types.max / min."""
    return _RETURN_TYPES[name](values, indices)


def where(condition, input=_UNSET, other=_UNSET):
    """Elements of `input` where `condition` holds, else of `other` (tensors or numbers, broadcast).
    With the condition alone: nonzero(condition, as_tuple=True)."""
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): argument 'condition' (position 1) must be Tensor, not {type(condition).__name__}")
    if input is _UNSET and other is _UNSET:
        return condition.nonzero(as_tuple=True)
    where_values(input, other)
    if condition.dtype is dt.uint8:
        import warnings

        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and will be removed in a "
                      "future version of PyTorch. Use a boolean condition instead.", UserWarning, stacklevel=2)
        condition = condition.bool()
    if condition.dtype is not dt.bool_:
        from ._args import scalar_name

        raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor with dtype "
                           + scalar_name(condition.dtype))
    a = _as_tensor(input, condition if not isinstance(other, Tensor) else other)
    b = _as_tensor(other, a)
    cuda = next((t for t in (condition, a, b) if t.is_cuda), a)  # NOTE: 0-d CPU tensors join it (as scalars)
    condition, a, b = (cpu_scalar_to(cuda, t) for t in (condition, a, b))
    check_device(condition, a)
    check_device(a, b)
    rt = result_type(a, b)
    return EW.Where.apply(condition, a.to(rt), b.to(rt))


_ONE_LIST = {"permute", "reshape", "squeeze"}  # NOTE: torch.permute(x, dims) takes one list, x.permute(*dims) many
def _one_list(name, args):
    """torch.permute(x, dims) / reshape / squeeze take one sequence (or squeeze an int), not x.permute(*dims)."""
    if len(args) > 1:
        raise TypeError(f"{name}() takes 2 positional arguments but {1 + len(args)} were given")
    if isinstance(args[0], Tensor) and (args[0].ndim or name != "squeeze"):
        raise TypeError(f"{name}(): argument '{'dim' if name == 'squeeze' else 'dims'}' (position 2) must be tuple "
                        "of ints, not Tensor")


def _method(name):
    def fn(input, *args, **kwargs):
        if not isinstance(input, Tensor):  # NOTE: PyTorch's TypeError, not an AttributeError
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        if name in _ONE_LIST and args:
            _one_list(name, args)
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"tritongrad.{name}(x, ...) is x.{name}(...)."
    return fn


def _number_first(name):
    """torch.add / sub / subtract: the input may be a number too (a 0-d tensor of it, a scalar in promotion)."""
    def fn(input, other, *deprecated, alpha=_UNSET):
        if alpha is not _UNSET and deprecated:  # NOTE: the deprecated torch.add(x, alpha, other): no alpha= besides
            raise TypeError(f"{name}() takes 2 positional arguments but {2 + len(deprecated)} were given")
        if not isinstance(input, Tensor):
            if not isinstance(input, (int, float)):
                raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
            like = deprecated[-1] if deprecated else other  # NOTE: torch.add(x, alpha, other), deprecated
            if isinstance(like, Tensor):
                input = _as_tensor(input, like)
            else:
                from ._creation import tensor

                input = tensor(input)
        return getattr(input, name)(other, *deprecated, alpha=alpha)

    fn.__name__ = name
    fn.__doc__ = f"tritongrad.{name}(x, other, *, alpha=1) is x.{name}(other, alpha=alpha); x may be a number."
    return fn


def _numbers(name):
    """torch.mul / div / true_divide / multiply: a number as the input is a 0-d tensor of it (a scalar in
    promotion), as PyTorch reads it."""
    def fn(input, other, *args, **kwargs):
        if isinstance(input, (int, float)) and not isinstance(input, Tensor):
            if isinstance(other, Tensor):
                input = _as_tensor(input, other)
            else:
                from ._creation import tensor

                input = tensor(input)
        elif not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        return getattr(input, name)(other, *args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"tritongrad.{name}(x, other) is x.{name}(other); x may be a number."
    return fn


_METHODS = ("pow neg abs exp log sqrt sin cos sigmoid tanh relu sign square reciprocal clamp clip "
            "clamp_min clamp_max maximum minimum eq ne lt le gt ge sum mean max min argmax argmin all any matmul mm "
            "t transpose permute reshape flatten squeeze unsqueeze logical_and logical_or logical_not clone detach "
            "equal negative greater less select narrow log1p expm1 remainder fmod floor_divide").split()
globals().update({name: _method(name) for name in _METHODS})
mul, div, multiply, true_divide = (_numbers(n) for n in ("mul", "div", "multiply", "true_divide"))
_METHODS += ["mul", "div", "multiply", "true_divide"]
add, sub, subtract = _number_first("add"), _number_first("sub"), _number_first("subtract")
_METHODS += ["add", "sub", "subtract"]
from ._math_methods import FUNCTIONS as MATH_FUNCTIONS, einsum  # noqa: E402,F401  NOTE: tritongrad.sort, .norm, ...

globals().update({name: _method(name) for name in MATH_FUNCTIONS})


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """torch.norm, a Python function in PyTorch too (a non-tensor input fails with its AttributeError)."""
    if out is not None:
        raise NotImplementedError("norm(out=...) is not implemented by tritongrad")
    return input.norm(p, dim, keepdim, dtype=dtype)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(t):
    if not isinstance(t, Tensor):
        raise TypeError(f"is_floating_point(): argument 'input' (position 1) must be Tensor, not {type(t).__name__}")
    return t.is_floating_point()
