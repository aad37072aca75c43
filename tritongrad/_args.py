"""The type rules of PyTorch's argument parser (torch/csrc/utils/python_arg_parser.cpp), for the
slow path: callers test the common case first (`v.__class__ is int`, `keepdim.__class__ is bool`)
and call these only when it fails, so that a correct call pays one class test per argument.

The rules, as PyTorch 2.x applies them:
- an int parameter takes an int or an object with __index__, but not a bool (which PyTorch refuses
  for int arguments) nor a float; a 0-d integer tensor counts (read with __index__), a bool tensor
  or a tensor of more than one dim does not;
- an int list (dims, sizes) takes an int, or a tuple / list of ints, where each item may also be a
  bool or a one-element integer or bool tensor; a one-element integer / bool tensor stands for [i];
- a bool parameter (keepdim, ...) takes a bool only (not an int, a NumPy bool or a tensor);
- a dtype parameter takes a dtype or None.
Everything else is a TypeError naming the function, the argument and the type received.
"""
import operator

from ._tensor_base import TensorBase


class _Unset:
    """A default that tells an argument left out from one given as None (max(dim=None) is refused)."""

    __slots__ = ()

    def __repr__(self):
        return "<unset>"


UNSET = _Unset()


def type_name(v):
    """The name PyTorch's messages give v's type (Tensor for any tensor, NoneType for None)."""
    if isinstance(v, TensorBase):
        return "Tensor"
    cls = type(v)
    if cls.__module__ == "numpy":
        return "numpy." + cls.__name__
    return cls.__name__


def _where(fn, name, pos):
    at = f" (position {pos})" if pos else ""
    return f"{fn}(): argument '{name}'{at}" if fn else f"argument '{name}'{at}"


def index(v, fn, name="dim", pos=None):
    """v as an int for an int parameter (see the module's docstring); TypeError otherwise."""
    if v.__class__ is int:
        return v
    if isinstance(v, TensorBase):
        if v._dtype._kind == 1 and not v._data.ndim:
            return int(v.item())
    elif v.__class__ is not bool and hasattr(type(v), "__index__"):  # NOTE: NumPy integers (np.bool_ has none)
        return operator.index(v)
    raise TypeError(f"{_where(fn, name, pos)} must be int, not {type_name(v)}")


def symint(v, fn, name, pos=None):
    """v as an int for a SymInt parameter (a size, select's index, narrow's start and length, topk's k,
    tril's diagonal): as an int parameter, and any one-element integer tensor too; a one-element bool
    tensor passes PyTorch's parser and fails its conversion (a RuntimeError)."""
    if v.__class__ is int:
        return v
    if isinstance(v, TensorBase) and v.numel() == 1 and v._dtype._kind < 2:
        if not v._dtype._kind:
            raise RuntimeError(NOT_INTEGRAL)
        return int(v.item())
    return index(v, fn, name, pos)


NOT_INTEGRAL = ("Expected scalar.isIntegral( false) to be true, but got false.  (Could this error message be "
                "improved?  If so, please report an enhancement request to PyTorch.)")


def _np_int(v):
    import numpy as np

    return isinstance(v, np.integer)


def _list_item(v, fn, name, i):
    if v.__class__ is int or v.__class__ is bool:
        return int(v)
    if isinstance(v, TensorBase):
        if v._dtype._kind < 2 and v.numel() == 1:
            return int(v.item())
    elif _np_int(v):
        return int(v)
    raise TypeError(f"{_where(fn, name, None)} failed to unpack the object at pos {i + 1} with error \"type must "
                    f"be tuple of ints,but got {type_name(v)}\"")


def int_list(v, fn, name="dim", pos=None, sym=False):
    """v (an int, a sequence of ints, or a one-element integer tensor) as a tuple of ints; `sym` for
    a list of SymInts (sizes), where a one-element bool tensor fails as in symint()."""
    if v.__class__ is int:
        return (v,)
    if isinstance(v, (tuple, list)):
        for d in v:
            if d.__class__ is not int:
                return tuple(_list_item(d, fn, name, i) for i, d in enumerate(v))
        return tuple(v)
    if isinstance(v, TensorBase):
        if v._dtype._kind < 2 and v._data.ndim <= 1 and v.numel() == 1:
            if sym and not v._dtype._kind:
                raise RuntimeError(NOT_INTEGRAL)
            return (int(v.item()),)
    elif _np_int(v):
        return (int(v),)
    raise TypeError(f"{_where(fn, name, pos)} must be tuple of ints, not {type_name(v)}")


def no_int(fn, name, pos=None):
    """The TypeError for an int where a tuple of ints is required (unflatten's sizes)."""
    raise TypeError(f"{_where(fn, name, pos)} must be tuple of ints, not int")


def check_bool(v, fn, name="keepdim", pos=None):
    """PyTorch takes a Python bool only (an int, a NumPy bool or a tensor is refused)."""
    if v.__class__ is not bool:
        raise TypeError(f"{_where(fn, name, pos)} must be bool, not {type_name(v)}")


def check_dtype(v, fn, name="dtype"):
    from ._dtype import dtype

    if v is not None and not isinstance(v, dtype):
        raise TypeError(f"{_where(fn, name, None)} must be torch.dtype, not {type_name(v)}")


def check_tensor(v, fn, name, pos=None):
    """A Tensor parameter takes a Tensor only (PyTorch's parser: no number, no sequence)."""
    if not isinstance(v, TensorBase):
        raise TypeError(f"{_where(fn, name, pos)} must be Tensor, not {type_name(v)}")


def too_many(fn, most, given):
    """PyTorch's arity error, for `given` positional arguments where `most` are taken (self not counted)."""
    return TypeError(f"{fn}() takes from 0 to {most} positional arguments but {given} were given")


def no_overload(fn, args, signatures):
    """PyTorch's TypeError for arguments that match none of fn's signatures (its first lines)."""
    got = ", ".join(type_name(a) for a in args if a is not UNSET)
    return TypeError(f"{fn}() received an invalid combination of arguments - got ({got}), but expected one of:\n"
                     + "".join(f" * {s}\n" for s in signatures))


def scalar_name(dtype):
    """PyTorch's name of a dtype in its messages (Float, Long, Bool, ...)."""
    from .ops.inplace import _SCALAR_NAMES

    return _SCALAR_NAMES[dtype.name]
