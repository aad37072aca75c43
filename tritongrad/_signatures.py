"""Argument checks of particular signatures (reductions, clamp, sort, index ops, ...) in PyTorch's
parser's order and with its errors: the methods call them on their slow path (see _args.py for the
type rules they share)."""
from . import _args as A, _dtype as dt
from ._args import UNSET as _UNSET
from ._tensor_base import TensorBase


def reduce_args(fn, dim, keepdim, dtype, axis=_UNSET, keepdims=_UNSET):
    """sum / mean's (dim, keepdim) after PyTorch's parser's type checks, which come before anything else:
    keepdim is a bool and is given only with a dim (None counts); dtype is a dtype. NumPy's axis= and
    keepdims= stand for dim and keepdim; both spellings at once is PyTorch's TypeError (numpy_spellings)."""
    if axis is not _UNSET or keepdims is not _UNSET:
        dim, keepdim = numpy_spellings(fn, dim, keepdim, axis, keepdims)
    if dtype is not None and dtype.__class__ is not dt.dtype:
        A.check_dtype(dtype, fn)
    if keepdim is _UNSET:
        keepdim = False
    elif dim is _UNSET:
        raise A.no_overload(fn, (keepdim,), ("(*, torch.dtype dtype = None)",
                                             "(tuple of ints dim, bool keepdim = False, *, torch.dtype dtype = None)"))
    elif keepdim.__class__ is not bool:
        A.check_bool(keepdim, fn)
    return (None if dim is _UNSET else dim), keepdim


def numpy_spellings(fn, dim, keepdim, axis, keepdims, unset=_UNSET):
    """(dim, keepdim) from NumPy's axis= / keepdims= where given (`unset`: a parameter not given)."""
    for name, numpy_value, value in (("axis", axis, dim), ("keepdims", keepdims, keepdim)):
        if numpy_value is not unset and value is not unset:
            raise TypeError(f"{fn}() got an unexpected keyword argument '{name}'")
    return (dim if axis is unset else axis), (keepdim if keepdims is unset else keepdims)


def positional_alpha(fn, alpha, rest, alpha_kw):
    """PyTorch's deprecated x.add(alpha, other) (alpha * other added), with its warning."""
    import warnings

    if alpha_kw is not _UNSET:
        raise TypeError(f"{fn}() received an invalid combination of arguments - got unrecognized keyword arguments: "
                        "alpha")
    if isinstance(alpha, TensorBase) and not alpha._data.ndim:
        alpha = alpha.item()  # NOTE: a 0-d tensor is a Number to PyTorch's parser
    if len(rest) != 1 or not isinstance(alpha, (int, float)):
        raise TypeError(f"{fn}() takes 1 positional argument but {1 + len(rest)} were given")
    warnings.warn(f"This overload of {fn} is deprecated:\n\t{fn}(Number alpha, Tensor other)\nConsider using one of "
                  f"the following signatures instead:\n\t{fn}(Tensor other, *, Number alpha = 1)", UserWarning,
                  stacklevel=3)
    return rest[0], alpha


def clamp_bounds(fn, lo, hi):
    """clamp's bounds: numbers (a 0-d tensor is one) or None, or tensors or None: PyTorch's two signatures."""
    lo_t, hi_t = isinstance(lo, TensorBase), isinstance(hi, TensorBase)
    lo_n = lo is None or isinstance(lo, (int, float)) or lo_t and not lo._data.ndim
    hi_n = hi is None or isinstance(hi, (int, float)) or hi_t and not hi._data.ndim
    if not (lo_n and hi_n or (lo_t or lo is None) and (hi_t or hi is None)):
        raise A.no_overload(fn, (lo, hi), ("(Tensor min = None, Tensor max = None)",
                                           "(Number min = None, Number max = None)"))


def float_arg(v, fn, name):
    """A float parameter: any number, or a one-element tensor (PyTorch's parser reads it as a number)."""
    if isinstance(v, (int, float)) or isinstance(v, A.TensorBase) and not v._data.ndim:
        return float(v)
    raise TypeError(f"{fn}(): argument '{name}' must be float, not {A.type_name(v)}")


def close_args(fn, other, rtol, atol, equal_nan):
    A.check_tensor(other, fn, "other", 1)
    float_arg(rtol, fn, "rtol")
    float_arg(atol, fn, "atol")
    if equal_nan.__class__ is not bool:
        A.check_bool(equal_nan, fn, "equal_nan")


def softmax_args(fn, dim, dtype):
    """The parser's types, before F.softmax's dim and dtype checks."""
    if dim.__class__ is not int:
        A.index(dim, fn, "dim", 1)
    if dtype is not None and dtype.__class__ is not dt.dtype:
        A.check_dtype(dtype, fn)


def prod_args(dim, keepdim, dtype):
    """prod(*, dtype) or prod(int dim, bool keepdim=False, *, dtype): (dim as an int or None, keepdim)."""
    A.check_dtype(dtype, "prod")
    if dim is _UNSET:
        if keepdim is not _UNSET:
            raise A.no_overload("prod", (keepdim,), ("(*, torch.dtype dtype = None)",
                                                    "(int dim, bool keepdim = False, *, torch.dtype dtype = None)"))
        return None, False
    if dim is None or isinstance(dim, (bool, float, str, tuple, list)):
        raise A.no_overload("prod", (dim,), ("(*, torch.dtype dtype = None)",
                                             "(int dim, bool keepdim = False, *, torch.dtype dtype = None)"))
    dim = A.index(dim, "prod")
    if keepdim is _UNSET:
        return dim, False
    A.check_bool(keepdim, "prod", "keepdim", 2)
    return dim, keepdim


def sort_args(fn, dim, descending, stable):
    """sort / argsort: (int dim = -1, bool descending = False), or (bool stable, ...) as keywords;
    x.sort(True) is refused (PyTorch's parser reads no bool as a dim)."""
    if dim is None or isinstance(dim, (bool, float, str, tuple, list)) or descending.__class__ is not bool:
        raise A.no_overload(fn, (dim, descending), ("(*, bool stable, int dim = -1, bool descending = False)",
                                                    "(int dim = -1, bool descending = False)"))
    if stable is not None and stable.__class__ is not bool:
        A.check_bool(stable, fn, "stable")
    return A.index(dim, fn), descending


def dim_tensors(fn, dim, *tensors):
    """PyTorch's parser's checks of (int dim, Tensor ...) before anything else: dim as an int."""
    if dim.__class__ is not int:
        dim = A.index(dim, fn)
    for name, v in tensors:
        if not isinstance(v, A.TensorBase):
            A.check_tensor(v, fn, name)
    return dim


def vector_index(fn, index):
    """index_add_ / index_copy_ take a 0-d or 1-d index: PyTorch checks this before the index's dtype."""
    if index.ndim > 1:
        if fn == "index_copy_":
            raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {index.ndim})")
        raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: {index.ndim} with type: "
                         f"{A.scalar_name(index._dtype)} and size: {list(index.shape)}")


def split_sizes(split_size):
    """split(int split_size) or split(tuple of ints split_sizes), with the types PyTorch's parser takes."""
    if isinstance(split_size, (tuple, list)) or isinstance(split_size, A.TensorBase) and split_size.ndim:
        return list(A.int_list(split_size, "split_with_sizes", "split_sizes"))
    if isinstance(split_size, bool) or split_size.__class__ is float:
        raise A.no_overload("split", (split_size,), ("(Tensor input, int split_size, int dim = 0)",
                                                     "(Tensor input, tuple of ints split_size, int dim = 0)"))
    return A.symint(split_size, "split", "split_size")


def index_put_args(fn, indices, values, accumulate):
    """index_put(_)'s parser checks; the indices as a tuple (of Tensors only, as PyTorch requires)."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{fn}(): argument 'indices' (position 1) must be tuple of Tensors, not {A.type_name(indices)}")
    A.check_tensor(values, fn, "values", 2)
    if accumulate.__class__ is not bool:
        A.check_bool(accumulate, fn, "accumulate", 3)
    for k, i in enumerate(indices):
        if not isinstance(i, TensorBase):
            raise TypeError(f"expected Tensor as element {k} in argument 0, but got {type(i).__name__}")
    if not indices:  # NOTE: PyTorch raises a RuntimeError too, with an internal text (an undefined Tensor)
        raise RuntimeError(f"{fn}(): expected at least one index tensor, got an empty tuple")
    return tuple(indices)


def masked_fill_args(fn, mask, value):
    A.check_tensor(mask, fn, "mask", 1)
    if not isinstance(value, (int, float, A.TensorBase)):
        raise A.no_overload(fn, (mask, value), ("(Tensor mask, Tensor value)", "(Tensor mask, Number value)"))


def bool_sub(a, b):
    """PyTorch refuses `-` on bool tensors (a mask is inverted with `~`)."""
    a_bool = a._dtype is dt.bool_
    b_bool = b._dtype is dt.bool_ if isinstance(b, TensorBase) else isinstance(b, bool)
    if a_bool and b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if a_bool or b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")


def subtract_alpha(other, scalar_alpha, alpha):
    """x.subtract(Number other, Number alpha): (other, alpha) (PyTorch has this overload, not sub's
    deprecated one); a 0-d tensor is a Number."""
    vals = [v.item() if isinstance(v, TensorBase) and not v._data.ndim else v for v in (other, *scalar_alpha)]
    if len(scalar_alpha) > 1 or alpha is not _UNSET or not all(isinstance(v, (int, float)) for v in vals):
        raise A.no_overload("subtract", (other, *scalar_alpha, alpha), ("(Tensor other, *, Number alpha = 1)",
                                                                        "(Number other, Number alpha = 1)"))
    return vals[0], vals[1]


def var_args(name, dim, unbiased, keepdim, correction):
    """var / std: (dim, unbiased) after the parser's checks; x.std(False) is the unbiased flag (that
    overload takes nothing else)."""
    if isinstance(dim, bool):
        if unbiased is not None or keepdim is not False or correction is not None:
            raise A.no_overload(name, (dim, unbiased), (
                "(bool unbiased = True)", "(tuple of ints dim, bool unbiased = True, bool keepdim = False)"))
        dim, unbiased = None, dim
    if dim is not None and dim.__class__ is not int:
        dim = A.int_list(dim, name)
    if unbiased is not None and unbiased.__class__ is not bool or keepdim.__class__ is not bool:
        raise A.no_overload(name, (dim, unbiased, keepdim), (
            "(tuple of ints dim, bool unbiased = True, bool keepdim = False)",
            "(tuple of ints dim = None, *, Number correction = None, bool keepdim = False)"))
    if correction is not None and not isinstance(correction, (int, float)):
        raise TypeError(f"{name}(): argument 'correction' must be Number, not {A.type_name(correction)}")
    return dim, unbiased


def where_values(input, other):
    """torch.where(condition, input, other): each a Tensor or a Number."""
    for v in (input, other):
        if not isinstance(v, (TensorBase, int, float)):
            raise A.no_overload("where", (v,), (
                "(Tensor condition)", "(Tensor condition, Tensor input, Tensor other)",
                "(Tensor condition, Number self, Tensor other)", "(Tensor condition, Tensor input, Number other)",
                "(Tensor condition, Number self, Number other)"))


def sections(fn, arg, args, tensor_ok, strict=False):
    """tensor_split's / hsplit's `indices_or_sections` as PyTorch's parser reads it: an int, a sequence of
    ints, a tensor for tensor_split; a one-element integer tensor for the hsplit methods, only a 0-d one
    for the torch.hsplit functions (`strict`). Its TypeError for anything else, before any other check."""
    if arg.__class__ is int or (tensor_ok and isinstance(arg, TensorBase)):
        return arg
    if isinstance(arg, TensorBase):
        integer = arg._dtype._kind == 1 and not arg.ndim if strict else arg._dtype._kind < 2
        if integer and arg.numel() == 1:  # NOTE: a 0-d tensor is a number of sections, a 1-d one indices
            return [int(arg.item())] if arg.ndim else int(arg.item())
    elif isinstance(arg, (list, tuple)) and not any(i.__class__ is bool for i in arg):
        try:
            return list(A.int_list(arg, fn, "indices"))
        except TypeError:
            pass
    elif arg.__class__ is not bool and hasattr(type(arg), "__index__"):
        return A.index(arg, fn, "sections")
    sigs = ["(Tensor input, int sections)", "(Tensor input, tuple of ints indices)"]
    if tensor_ok:
        sigs = [s[:-1] + ", int dim = 0)" for s in sigs]
        sigs.append("(Tensor input, Tensor tensor_indices_or_sections, int dim = 0)")
    raise A.no_overload(fn, args, sigs)
