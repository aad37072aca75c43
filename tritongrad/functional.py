"""Module-level functions (tritongrad.exp(x), tritongrad.where(c, a, b), ...), as in PyTorch."""
import builtins
from collections import namedtuple
from collections.abc import Sequence

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
    param = "dim" if name == "squeeze" else "shape" if name == "reshape" else "dims"
    if isinstance(args[0], Tensor) and (args[0].ndim or name != "squeeze") or (
            isinstance(args[0], int) and name != "squeeze"):
        raise TypeError(f"{name}(): argument '{param}' (position 2) must be tuple of ints, not "
                        f"{type(args[0]).__name__}")


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
            "equal negative greater less select narrow log1p expm1 remainder fmod floor_divide ravel is_complex "
            "is_signed").split()
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


def count_nonzero(input, dim=None):
    """torch.count_nonzero: the method without its varargs dims (PyTorch's function takes one argument)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"count_nonzero(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return input.count_nonzero(dim=dim)


# --- shapes ------------------------------------------------------------------------------------------
def broadcast_to(input, size):
    """input.expand(size); unlike the method, the function takes the size as one sequence (PyTorch's parser)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"broadcast_to(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"broadcast_to(): argument 'size' (position 2) must be tuple of ints, not "
                        f"{type(size).__name__}")
    return input.expand(size)


def broadcast_shapes(*shapes):
    """The shape all `shapes` (ints or sequences of ints) broadcast to, as torch.broadcast_shapes."""
    from .tensor import Size

    shapes = tuple((s,) if isinstance(s, int) else s for s in shapes if s is not None)
    for s in shapes:
        if not isinstance(s, Sequence):  # NOTE: PyTorch's test: a string passes it, and fails later
            raise RuntimeError(f"Input shapes should be of type ints, a tuple of ints, or a list of ints, got {s}")
    common = [1] * builtins.max((len(s) for s in shapes), default=0)  # NOTE: max is tritongrad's here
    for k, shape in enumerate(shapes):  # NOTE: torch._refs._broadcast_shapes' walk and messages
        for i in range(-1, -1 - len(shape), -1):
            if shape[i] == common[i]:
                continue
            if common[i] == 1:
                if shape[i] < 0:
                    raise ValueError("Attempting to broadcast a dimension with negative length!")
                common[i] = shape[i]
            if shape[i] != 1 and common[i] != shape[i]:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {shape[i]} at {i}! Mismatching "
                                   f"argument at index {k} had {shape}; but expected shape should be broadcastable "
                                   f"to {common}")
    return Size(common)


def _tensor_list(tensors, one_sequence=True):
    """*tensors as a tuple of Tensors (PyTorch's message otherwise); `one_sequence`: f([a, b]) as f(a, b)."""
    if one_sequence and len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    for k, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {k} in argument 0, but got {type(t).__name__}")
    return tensors


def broadcast_tensors(*tensors):
    """The tensors expanded to their common shape (views; one already of that shape is returned as is)."""
    from .ops.util import broadcast_shapes as common

    tensors = _tensor_list(tensors, one_sequence=False)
    shape = common(*(tuple(t.shape) for t in tensors)) if tensors else ()
    return tuple(t if tuple(t.shape) == shape else t.expand(shape) for t in tensors)


def _atleast(n, tensors):
    """atleast_{n}d: a Tensor for one Tensor, else a tuple (of any number, or of one sequence's)."""
    one = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and not one and not isinstance(tensors[0], (tuple, list)):
        raise TypeError(f"atleast_{n}d() expects a Tensor or a sequence of Tensors, got {type(tensors[0]).__name__}")
    out = []
    for t in _tensor_list(tensors):
        d = t.ndim
        if d >= n:
            out.append(t)
        elif d == 0:
            out.append(t.reshape((1,) * n))
        elif n == 2 or d == 2:  # NOTE: PyTorch's: (3,) -> (1, 3) for 2-d, (1, 3, 1) for 3-d; (2, 3) -> (2, 3, 1)
            out.append(t.unsqueeze(0) if d == 1 else t.unsqueeze(-1))
        else:
            out.append(t.unsqueeze(0).unsqueeze(-1))
    return out[0] if one else tuple(out)


def atleast_1d(*tensors):
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    return _atleast(3, tensors)


def meshgrid(*tensors, indexing=None):
    """Grids from 0-d or 1-d tensors, as torch.meshgrid: expanded views, 'ij' (the default, with
    PyTorch's warning when not given) or 'xy' (the first two dims swapped)."""
    tensors = _tensor_list(tensors)
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing is None:
        import warnings

        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a {t.ndim}D one")
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        check_device(tensors[0], t)
    dims = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        dims[0], dims[1] = 1, 0  # NOTE: tensor 0 runs along dim 1, tensor 1 along dim 0
    shape = [0] * len(tensors)
    for t, d in zip(tensors, dims):
        shape[d] = t.numel()
    out = []
    for t, d in zip(tensors, dims):
        view = [1] * len(tensors)
        view[d] = -1
        out.append(t.reshape(view).expand(shape))
    return tuple(out)
