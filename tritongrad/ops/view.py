"""Op table rows: shape ops. Views share storage and version counter with their input; copies (clone, to) do not.

A view Tensor is linked to its base by autograd.views.make_view (Tensor's view methods call it).
"""
import numpy as np

from ..autograd.views import make_view
from . import util
from .table import Op, fused, provides
from .util import size_str


class View(Op):
    node_name = "ViewBackward0"
    saved_as = {"self_sym_sizes": "shape"}
    _n_inputs = 1

    @staticmethod
    def forward(a, shape):
        return a._be.view(a._data, shape)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.shape = inputs[0]._data.shape

    @staticmethod
    def formula(ctx, F, g):
        return F.reshape(g, ctx.shape)


class UnsafeView(View):
    node_name = "UnsafeViewBackward0"


class Permute(Op):
    node_name = "PermuteBackward0"
    saved_as = {"dims": "dims"}
    _n_inputs = 1

    @staticmethod
    def forward(a, dims):
        return a._be.permute(a._data, dims)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.dims = inputs[1]

    @staticmethod
    def formula(ctx, F, g):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return F.permute(g, tuple(inverse))


class Transpose(Permute):
    node_name = "TransposeBackward0"
    saved_as = {"dim0": lambda node: _swapped(node.dims)[0], "dim1": lambda node: _swapped(node.dims)[1]}


def _swapped(dims):
    """The two dims a transpose swapped, from its permutation."""
    moved = [i for i, d in enumerate(dims) if i != d]
    return (moved[0], moved[1]) if moved else (0, 0)


class T(Permute):
    node_name = "TBackward0"
    saved_as = {}


class Expand(Op):
    node_name = "ExpandBackward0"
    saved_as = {"self_sym_sizes": "shape"}
    _n_inputs = 1

    @staticmethod
    def forward(a, shape):
        return a._be.expand(a._data, shape)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.shape = inputs[0]._data.shape

    @staticmethod
    def formula(ctx, F, g):
        return F.sum_to(g, ctx.shape)


class Broadcast(Expand):
    """F.broadcast on Tensors (sum's and mean's gradient): the backend's broadcast, which may copy a small
    result (NumPy's fast loops), so that it has the same layout, and products of it the same bits, as on
    arrays. Read only, as an expanded view."""

    primitive = "broadcast"

    @staticmethod
    def forward(a, shape):
        return a._be.broadcast(a._data, shape)


class Squeeze(View):
    node_name = "SqueezeBackward0"


class SqueezeDim(View):
    node_name = "SqueezeBackward1"


class SqueezeDims(View):
    node_name = "SqueezeBackward2"


class Unsqueeze(View):
    node_name = "UnsqueezeBackward0"
    saved_as = {}  # NOTE: PyTorch keeps the dim, which this row does not record


class Index(Op):
    """Basic indexing (ints, slices, None, ...): a view. Named after its last step, as PyTorch's chain."""

    node_name = "SliceBackward0"
    saved_as = {"dim": lambda n: _last_step(n)[0], "end": lambda n: _slice_values(n)[1],
                "self_sym_sizes": lambda n: _last_step(n)[2], "start": lambda n: _slice_values(n)[0],
                "step": lambda n: _slice_values(n)[2]}
    _n_inputs = 1

    @staticmethod
    def forward(a, idx):
        return a._be.index(a._data, idx)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.shape, ctx.idx, ctx.dtype = inputs[0]._data.shape, inputs[1], inputs[0]._dtype

    @staticmethod
    def formula(ctx, F, g):
        return F.index_backward(g, ctx.shape, ctx.idx, ctx.dtype)


class Select(Index):
    node_name = "SelectBackward0"
    saved_as = {"dim": lambda n: _last_step(n)[0], "index": lambda n: _last_step(n)[1],
                "self_sym_sizes": lambda n: _last_step(n)[2]}


def _last_step(node):
    """(dim, index entry, input shape) of the last step of a basic index: PyTorch runs an index as a chain of
    select/slice/unsqueeze views, and the node (named after the last) keeps that step's arguments."""
    idx, shape = node.idx, node.shape
    n = sum(1 for i in idx if i is not None and i is not Ellipsis)
    steps = []
    for i in idx:  # NOTE: Ellipsis spelled out, so that a prefix of the index means what it meant in the whole
        steps.extend((slice(None),) * (len(shape) - n) if i is Ellipsis else (i,))
    dim, last = 0, None
    for pos, i in enumerate(steps):
        if i is not None:
            last = (dim, i, pos)
        dim += not isinstance(i, int)  # a select removes its dim; slices and None keep or add one
    dim, entry, pos = last
    return dim, entry, np.broadcast_to(np.empty(()), shape)[tuple(steps[:pos])].shape


def _slice_values(node):
    """(start, end, step) of the last step, a slice, as PyTorch keeps them (negative values as uint64)."""
    s = _last_step(node)[1]
    values = (0 if s.start is None else s.start, 2 ** 63 - 1 if s.stop is None else s.stop, s.step or 1)
    return tuple(v % 2 ** 64 for v in values)


class Alias(Index):
    node_name = "AliasBackward0"
    saved_as = {}


class IndexUnsqueeze(Index):
    node_name = "UnsqueezeBackward0"
    saved_as = {}


IndexBackward = fused("index_backward", "SliceBackwardBackward0",
                      lambda F, gg, g, shape, idx, dtype: (F.index(gg, idx),))


class Clone(Op):
    node_name = "CloneBackward0"
    _n_inputs = 1

    @staticmethod
    def forward(a):
        be = a._be
        out = be.empty(a.shape, a._dtype)
        return be.copy_(out, a._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        pass

    @staticmethod
    def formula(ctx, F, g):
        return g


class ToCopy(Op):
    """A copy in another dtype and/or on another device."""

    node_name = "ToCopyBackward0"
    _n_inputs = 1

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, dtype, be = inputs
        ctx.dtype, ctx.be, ctx.moved, ctx.cast = a._dtype, a._be, be is not a._be, dtype is not a._dtype

    @staticmethod
    def forward(a, dtype, be):
        src = a._data
        if be is not a._be:  # NOTE: host<->device copies go through host memory
            src = be.from_numpy(a._be.to_numpy(src)) if be.name != "cpu" else a._be.to_numpy(src)
        if dtype is not a._dtype:
            return be.astype(src, dtype)
        return src if be is not a._be else be.copy_(be.empty(a.shape, dtype), src)

    @staticmethod
    def formula(ctx, F, g):
        # NOTE: cast first, on g's own device: F is the adapter of g's backend (the other one after a transfer)
        if ctx.cast:
            g = F.astype(g, ctx.dtype)
        return F.transfer(g, ctx.be) if ctx.moved else g


# F on Tensors for the view primitives: views, linked to their base as Tensor methods link them
provides("view", lambda a, shape: make_view(a, View.apply(a, shape), "view", shape))
provides("permute", lambda a, dims: make_view(a, Permute.apply(a, dims), "permute", dims))
provides("index", lambda a, idx: a[idx])
provides("contiguous", lambda a: a.contiguous())
provides("is_contiguous", lambda a: a._be.is_contiguous(a._data))
provides("astype", lambda a, dtype: a.to(dtype))
provides("transfer", lambda a, be: a.to(be.name))


def infer_shape(shape, numel):
    """`shape` with a -1 resolved, checked against the number of elements."""
    for i, s in enumerate(shape):
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {size_str(shape)}")
    if -1 in shape:
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 and numel == 0:
            raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {size_str(shape)} because the "
                               "unspecified dimension size -1 can be any value and is ambiguous")
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{size_str(shape)}' is invalid for input of size {numel}")
        return tuple(numel // known if s == -1 else s for s in shape)
    n = 1
    for s in shape:
        n *= s
    if n != numel:
        raise RuntimeError(f"shape '{size_str(shape)}' is invalid for input of size {numel}")
    return shape


def normalize_index(idx, shape):
    """A basic index as a tuple of non-negative ints, slices (step > 0), None and at most one
    Ellipsis, checked against `shape`; and the op class named after the index's last step."""
    if idx.__class__ is int and shape and -shape[0] <= idx < shape[0]:
        return (idx % shape[0],), Select  # NOTE: x[i], the common case, without the general walk
    if not isinstance(idx, tuple):
        idx = (idx,)
    n_dims = sum(1 for i in idx if i is not None and i is not Ellipsis)
    if n_dims > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    out, dim, cls = [], 0, Alias
    for i in idx:
        if i is Ellipsis:
            out.append(i)
            dim = len(shape) - (n_dims - sum(1 for j in out if j is not None and j is not Ellipsis))
            continue
        if i is None:
            out.append(None)
            cls = IndexUnsqueeze
            continue
        if isinstance(i, slice):
            if i.step is not None and _int(i.step) <= 0:
                raise ValueError("step must be greater than zero")
            s = slice(*(None if v is None else _int(v) for v in (i.start, i.stop, i.step)))
            out.append(s)
            cls = Index
            dim += 1
            continue
        k = _int(i)
        size = shape[dim]
        if not -size <= k < size:
            raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {size}")
        out.append(k % size)
        cls = Select
        dim += 1
    return tuple(out), cls


def _int(i):
    if isinstance(i, util.Tensor) and (i.numel() != 1 or i.dtype.is_floating_point or i.dtype.name == "bool"):
        raise IndexError("tritongrad supports basic indexing only (ints, slices, None and ...); indexing with a "
                         "Tensor of indices or a mask is not supported")
    if isinstance(i, bool) or not hasattr(i, "__index__"):
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                         f"indices (got {type(i).__name__})")
    return i.__index__()
