"""Helpers shared by the ops: operand checks, type promotion, undoing broadcasting."""
from .._args import index, int_list
from .._dtype import get_default_dtype, promote_types, result_type_scalar
from .._tensor_base import TensorBase as Tensor  # NOTE: for isinstance: tensor.Tensor derives from it


def size_str(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


def check_device(a, b):
    if a._be is not b._be:
        raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                           f"{a.device} and {b.device}!")


def cpu_scalar_to(a, b):
    """b moved to a's device when b is a 0-d CPU tensor and a is on CUDA: PyTorch takes it as a scalar."""
    if isinstance(b, Tensor) and b._be is not a._be and not b._data.ndim and not b.is_cuda:
        return b.to(a.device)
    return b


def result_type(a, b):
    """The dtype of `a op b` (b a Tensor or a Python scalar), as torch.result_type."""
    if not isinstance(b, Tensor):
        return result_type_scalar(a._dtype, b)
    da, db = a._dtype, b._dtype
    if da is db:
        return da
    # A 0-dim tensor only decides the type when it is of a higher category (float over int over bool).
    if (a.ndim == 0) != (b.ndim == 0) and da._kind == db._kind:
        return db if a.ndim == 0 else da
    return promote_types(da, db)


def operands(a, b, float_only=False):
    """Check devices, promote dtypes; returns (a, b, b's array or scalar), both of one dtype."""
    if isinstance(b, Tensor) and b._dtype is a._dtype and b._be is a._be and (
            a._dtype.is_floating_point or not float_only):
        if a._data.shape != b._data.shape:
            broadcast_shapes(a._data.shape, b._data.shape)  # NOTE: PyTorch's message, not NumPy's, on a mismatch
        return a, b, b._data  # NOTE: the common case, first
    if isinstance(b, Tensor):
        a, b = cpu_scalar_to(b, a), cpu_scalar_to(a, b)
        check_device(a, b)
        if a._data.shape != b._data.shape:
            broadcast_shapes(a._data.shape, b._data.shape)
        dt = result_type(a, b)
    elif isinstance(b, (int, float)):
        dt = result_type_scalar(a._dtype, b)
    else:
        raise TypeError(f"unsupported operand type: expected a Tensor or a number, got {type(b).__name__}")
    if float_only and not dt.is_floating_point:
        from .._dtype import get_default_dtype

        dt = get_default_dtype()
    if a._dtype is not dt:
        a = a.to(dt)
    if isinstance(b, Tensor):
        if b._dtype is not dt:
            b = b.to(dt)
        return a, b, b._data
    return a, b, b


def broadcast_shapes(*shapes):
    """NumPy's broadcast of shapes, with PyTorch's error message (which reports the last mismatching dim)."""
    ndim = max(len(s) for s in shapes)
    out = [1] * ndim
    for s in shapes:
        lead = ndim - len(s)
        for i in range(ndim - 1, lead - 1, -1):
            d = s[i - lead]
            if d != out[i] and d != 1 and out[i] != 1:
                raise RuntimeError(f"The size of tensor a ({out[i]}) must match the size of tensor b ({d}) at "
                                   f"non-singleton dimension {i}")
            if out[i] == 1:
                out[i] = d
    return tuple(out)


def sum_dims(gshape, shape):
    """(dims, lead): the dims to sum (keeping them) so that a gradient of `gshape` broadcasts to
    `shape`, and how many leading dims to drop afterwards (the dims broadcasting added)."""
    lead = len(gshape) - len(shape)
    return tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1), lead


def sum_to(g, shape):
    """Sum gradient `g` over the dims broadcasting added, so that it has `shape` (differentiable)."""
    if g._data.shape == shape:
        return g
    dims, lead = sum_dims(g._data.shape, shape)
    if dims:
        g = g.sum(dims, keepdim=True)
    return g.view(shape) if lead else g


def wrap_dim(dim, ndim, fn=None):
    """A dim in [-ndim, ndim) made non-negative, with PyTorch's IndexError otherwise (and its TypeError
    for a dim that is not an int: a bool, a float, a float tensor, ...)."""
    if dim.__class__ is not int:
        dim = index(dim, fn)
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def wrap_dims(dim, ndim, fn=None, repeats_first=False):
    """`dim` (None, an int, or a sequence) as a sorted tuple of non-negative dims; () means all. A repeated
    dim is PyTorch's error, naming the first repeat: found after every dim is range checked (reductions'
    order), or with `repeats_first` as the walk meets it (flip's and squeeze's)."""
    if dim is None:
        return ()
    if dim.__class__ is int:
        return (wrap_dim(dim, ndim),)
    given = int_list(dim, fn)
    if not repeats_first:  # NOTE: reductions range check every dim before they look for a repeat
        given = [wrap_dim(d, ndim) for d in given]
    seen = []
    for d in given:
        d = wrap_dim(d, ndim)  # NOTE: a wrapped dim wraps to itself
        if d in seen:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen.append(d)
    return tuple(sorted(seen))


def clamp_args(t, lo, hi):
    """clamp's operands: an integer tensor clamped by float bounds becomes float, as in PyTorch."""
    for bound in (lo, hi):
        if bound is not None:
            t, _, _ = operands(t, bound)
    return t, lo, hi


def clamp_tensor_args(t, lo, hi):
    """clamp's operands when a bound is a tensor: numbers become tensors, all promoted to one dtype."""
    lo = None if lo is None else cpu_scalar_to(t, as_tensor(lo, t))
    hi = None if hi is None else cpu_scalar_to(t, as_tensor(hi, t))
    for bound in (lo, hi):
        if bound is not None:
            t, _, _ = operands(t, bound)
    return (t, *(b if b is None or b._dtype is t._dtype else b.to(t._dtype) for b in (lo, hi)))


def as_tensor(x, like):
    """A Python scalar as a 0-dim tensor on `like`'s device (its dtype follows promotion)."""
    if isinstance(x, Tensor):
        return x
    dtype = result_type_scalar(like._dtype, x)
    dtype = like._dtype if dtype is like._dtype else (get_default_dtype() if isinstance(x, float) else dtype)
    return like._make(like._be.full((), x, dtype))
