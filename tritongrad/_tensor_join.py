"""tritongrad.cat / concat / concatenate / stack / hstack / vstack: their checks with PyTorch's
messages, then the join ops (ops/join.py)."""
from . import _dtype as dt
from .ops import join as J
from .ops.util import check_device, size_str, wrap_dim


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
