"""tritongrad.cat / concat / concatenate / stack / hstack / vstack: their checks with PyTorch's
messages, then the join ops (ops/join.py); row_stack, column_stack, dstack, cartesian_prod and
tensordot, which PyTorch composes from other ops too (so their nodes are the same as PyTorch's)."""
from . import _dtype as dt
from .ops import join as J
from .ops.util import check_device, size_str, wrap_dim

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "column_stack", "dstack",
           "cartesian_prod", "tensordot"]


def _tensors(tensors, name):
    from .tensor import Tensor

    if isinstance(tensors, Tensor) or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"{name}(): argument 'tensors' must be tuple of Tensors")
    return list(tensors)


def _common(ts):
    """The inputs promoted to one dtype (torch.result_type's), checked to share one device."""
    first = ts[0]
    rt, be, same = first._dtype, first._be, True
    for t in ts:
        if t._be is not be:
            check_device(first, t)
        if t._dtype is not rt:
            rt, same = dt.promote_types(rt, t._dtype), False
    return ts if same else [t if t._dtype is rt else t.to(rt) for t in ts]


def cat(tensors, dim=0):
    ts = _tensors(tensors, "cat")
    if not ts:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    shapes = [t._data.shape for t in ts]
    for i, shape in enumerate(shapes):
        if not shape:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    ts = _common(ts)
    full = [t for t, shape in zip(ts, shapes) if shape != (0,)]  # NOTE: PyTorch's legacy rule: 1-d empties skipped
    if not full:
        return ts[0].clone()
    ref = full[0]._data.shape
    nd = len(ref)
    dim = wrap_dim(dim, nd)
    for i, shape in enumerate(shapes):
        if shape == ref or shape == (0,):
            continue
        if len(shape) != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and {len(shape)}")
        for d in range(nd):
            if d != dim and shape[d] != ref[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. Expected size "
                                   f"{ref[d]} but got size {shape[d]} for tensor number {i} in the list.")
    return J.cat(full, dim)


concat = concatenate = cat


def stack(tensors, dim=0):
    ts = _tensors(tensors, "stack")
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(ts[1:], 1):
        if t.shape != ts[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {size_str(ts[0].shape)} at entry "
                               f"0 and {size_str(t.shape)} at entry {i}")
    return J.stack(_common(ts), wrap_dim(dim, ts[0].ndim + 1))


def hstack(tensors):
    ts = _tensors(tensors, "hstack")
    return cat([t.reshape(1) if t.ndim == 0 else t for t in ts], 0 if all(t.ndim <= 1 for t in ts) else 1)


def vstack(tensors):
    ts = _tensors(tensors, "vstack")
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in ts], 0)


def row_stack(tensors):
    _tensors(tensors, "row_stack")
    return vstack(tensors)


def column_stack(tensors):
    ts = _tensors(tensors, "column_stack")
    return hstack([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in ts])


def dstack(tensors):
    """cat along dim 2 of the tensors made 3-d by atleast_3d: (n,) -> (1, n, 1), (a, b) -> (a, b, 1)."""
    from .functional import atleast_3d

    return cat(atleast_3d(_tensors(tensors, "dstack")), 2)


def cartesian_prod(*tensors):
    """The rows of every combination of the 1-d tensors' elements (meshgrid 'ij', flattened, stacked)."""
    from .functional import _tensor_list, meshgrid

    for t in _tensor_list(tensors, one_sequence=False):
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {size_str(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.flatten() for g in meshgrid(*tensors, indexing="ij")], 1)


def tensordot(a, b, dims=2, out=None):
    """torch.tensordot: a's dims_a contracted with b's dims_b (an int n: a's last n with b's first n). Its
    checks in PyTorch's order: dims (its Python wrapper, which reads a.dim()), then the tensors."""
    from . import _args as A
    from .tensor import Tensor

    if not isinstance(dims, (tuple, list, Tensor, int)):
        raise RuntimeError(f"tensordot expects dims to be int or tuple[list[int], list[int]] or list[list[int]] "
                           f"containing two lists, but got dims={dims}")
    if isinstance(dims, Tensor):
        if dims.numel() > 1:
            if dims.shape[0] != 2:
                raise AssertionError(f"dims tensor must have size 2 in first dimension, got {dims.shape[0]}")
            dims = (dims[0].tolist(), dims[1].tolist())
        elif int(dims.item()) < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        else:
            dims = (list(range(-int(dims.item()), 0)), list(range(int(dims.item()))))
    elif isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.dim(), b.dim()):  # NOTE: a number for a or b fails here, with PyTorch's AttributeError
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        dims = (list(range(-dims, 0)), list(range(dims)))
    A.check_tensor(a, "tensordot", "input", 1)
    A.check_tensor(b, "tensordot", "other", 2)
    da, db = dims
    for pos, name, dl in ((3, "dims_self", da), (4, "dims_other", db)):
        if not isinstance(dl, (tuple, list)):
            raise TypeError(f"tensordot(): argument '{name}' (position {pos}) must be tuple of ints, not "
                            f"{type(dl).__name__}")
        for k, d in enumerate(dl):
            if d.__class__ is not int:
                raise TypeError(f"tensordot(): argument '{name}' (position {pos}) must be tuple of ints, but found "
                                f"element of type {type(d).__name__} at pos {k}")
    if out is not None:
        if not isinstance(out, Tensor):
            raise TypeError(f"tensordot(): argument 'out' must be Tensor, not {type(out).__name__}")
        raise NotImplementedError("tensordot(out=...) is not implemented by tritongrad")
    da, db = list(da), list(db)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    if a.dtype is not b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    da, db = [wrap_dim(d, a.ndim) for d in da], [wrap_dim(d, b.ndim) for d in db]
    csize, ta, tb = 1, a, b  # NOTE: ATen's tensordot, step by step (sizes, then repeated dims)
    for x, y in zip(da, db):
        s1, s2 = a.shape[x], b.shape[y]
        if s2 == 1:  # NOTE: a broadcast dim is summed at once, in the inputs' dtype
            ta = ta.sum(x, keepdim=True, dtype=ta.dtype)
        elif s1 == 1:
            tb = tb.sum(y, keepdim=True, dtype=tb.dtype)
        elif s1 != s2:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {s1} in dim {x} and "
                               f"second has size {s2} in dim {y}")
        else:
            csize *= s1
    for dl in (da, db):
        if len(set(dl)) != len(dl):
            raise RuntimeError(f"dim {next(d for d in dl if dl.count(d) > 1)} appears multiple times in the list of "
                               "dims")
    keep_a, keep_b = [d for d in range(a.ndim) if d not in da], [d for d in range(b.ndim) if d not in db]
    rest = [ta.shape[d] for d in keep_a] + [tb.shape[d] for d in keep_b]
    size_a = 1
    for d in keep_a:
        size_a *= ta.shape[d]
    size_b = 1
    for d in keep_b:
        size_b *= tb.shape[d]
    m1 = ta.permute(keep_a + da).reshape(size_a, csize)
    m2 = tb.permute(db + keep_b).reshape(csize, size_b)
    return m1.mm(m2).reshape(rest)
