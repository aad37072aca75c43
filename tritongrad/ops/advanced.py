"""Advanced indexing: `x[idx]` and `x[idx] = v` with index tensors, lists and boolean masks, mixed with
ints, slices, None and `...` (PyTorch's and NumPy's rules).

How: the ints, slices and None apply first, as a view `y` (ops/view.py's basic indexing); each index
tensor then covers one dim of y and each mask the dims it spans, and all of them, broadcast together,
become ONE flat index along one dim of y with those dims merged (`IndexPlan`). When the indexed dims
are adjacent they merge in place and the result's index dims stand where they were; otherwise they
move to the front first (a permute), as in PyTorch. A single index tensor (an embedding lookup
`C[X]`) merges nothing: one index_select with negative indices wrapped and bounds checked by it.
Masks become flat positions through `nonzero` (a device read-back, as in PyTorch); `x[mask] = number`
is a masked fill and needs none.
"""
import math
from contextlib import contextmanager

from .. import _dtype as dt
from .index import IndexPutMask, _arrays, _tensor
from .table import Op
from .util import broadcast_shapes, size_str

_INDEX_DTYPES = ("int64", "int32", "uint8", "bool")  # NOTE: PyTorch's "long, int, byte or bool"
_C_NAMES = {"float32": "float", "float64": "double", "float16": "half", "int64": "long", "int32": "int",
            "int16": "short", "int8": "signed char", "uint8": "unsigned char", "bfloat16": "BFloat16"}


class IndexPlan:
    """Where an advanced index reads in y: y permuted by `perm` (None: not) and reshaped to `merged`,
    then index_select along `dim` at the 1-d `index` (wrapped by the primitive when `wrap`); the
    result has shape `out_shape` (merged with `dim` replaced by the index's broadcast shape)."""

    __slots__ = ("perm", "permuted", "merged", "dim", "index", "wrap", "out_shape", "sel_shape")

    def arrange(self, F, a):
        """y-shaped `a` in the merged layout."""
        if self.perm is not None:
            a = F.permute(a, self.perm)
        return F.reshape(a, self.merged) if self.merged != self.permuted else a

    def restore(self, F, a):
        """Merged-layout `a` back in y's layout."""
        if self.merged != self.permuted:
            a = F.reshape(a, self.permuted)
        if self.perm is not None:
            inverse = [0] * len(self.perm)
            for i, d in enumerate(self.perm):
                inverse[d] = i
            a = F.permute(a, tuple(inverse))
        return a


@contextmanager
def _pytorch_dim(plan):
    """PyTorch names an out-of-range index by its position among the index tensors (0 for the one
    tensor a wrapping primitive checks), not by the dim it indexes."""
    try:
        yield
    except IndexError as e:
        raise IndexError(str(e).replace(f"dimension {plan.dim} ", "dimension 0 ")) from None


class IndexTensor(Op):
    node_name = "IndexBackward0"
    _n_inputs = 1

    @staticmethod
    def forward(y, plan):
        F = _arrays()[y._data.__class__]
        with _pytorch_dim(plan):
            out = F.index_select(plan.arrange(F, y._data), plan.dim, plan.index, plan.wrap, True)
        return F.reshape(out, plan.out_shape)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.plan = inputs[1]

    @staticmethod
    def formula(ctx, F, g):
        p = ctx.plan
        g = F.index_select_backward(F.reshape(g, p.sel_shape), p.merged, p.dim, p.index, p.wrap)
        return p.restore(F, g)


class IndexPut(Op):
    """y with `values` (broadcast to the plan's out_shape) written, or added, where the plan reads."""

    node_name = "IndexPutBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(y, values, plan, accumulate):
        F = _arrays()[y._data.__class__]
        vals = F.reshape(F.broadcast(values._data, plan.out_shape), plan.sel_shape)
        with _pytorch_dim(plan):
            out = F.index_put(plan.arrange(F, y._data), plan.dim, plan.index, vals, accumulate, plan.wrap, True)
        return plan.restore(F, out)

    @staticmethod
    def setup_context(ctx, inputs, out):
        _, values, ctx.plan, ctx.accumulate = inputs
        ctx.v_shape = values._data.shape

    @staticmethod
    def formula(ctx, F, g):
        p = ctx.plan
        na, nv = ctx.needs_input_grad
        gm = p.arrange(F, g)
        sel = F.index_select(gm, p.dim, p.index, p.wrap, False) if nv or not ctx.accumulate else None
        ga = None
        if na:
            ga = g if ctx.accumulate else p.restore(F, F.index_put(gm, p.dim, p.index, F.zeros_like(sel), False,
                                                                    p.wrap, False))
        gv = F.sum_to(F.reshape(sel, p.out_shape), ctx.v_shape) if nv else None
        return ga, gv


# --- parsing ----------------------------------------------------------------------------------------
def _as_index(i, x):
    """An index entry as an int, slice, None, Ellipsis, or ("t", Tensor) / ("m", bool Tensor)."""
    Tensor = _tensor()
    if i is None or i is Ellipsis or isinstance(i, slice):
        return i
    if i is True or i is False:
        from .._creation import tensor

        return ("m", tensor(i, device=x.device))
    if isinstance(i, (list, tuple)):
        from .._creation import tensor

        try:
            i = tensor(i, device=x.device, **({} if len(i) else {"dtype": dt.int64}))  # NOTE: x[[]] is empty
        except (TypeError, ValueError, RuntimeError):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                             "valid indices") from None
    if isinstance(i, Tensor):
        if i._dtype.name not in _INDEX_DTYPES:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if i._be is not x._be:
            i = i.to(x.device)
        if i._dtype is dt.bool_ or i._dtype is dt.uint8:
            return ("m", i if i._dtype is dt.bool_ else i.bool())
        return i.item() if i.ndim == 0 else ("t", i)
    return i  # an int (or something with __index__): basic indexing checks it


def is_advanced(idx):
    """Whether an index needs this module (a Tensor of more than one value, a list, a mask...)."""
    Tensor = _tensor()
    for i in (idx if isinstance(idx, tuple) else (idx,)):
        if i is True or i is False or isinstance(i, (list, tuple)) or (isinstance(i, Tensor) and (
                i.ndim or i._dtype is dt.bool_ or i._dtype is dt.uint8)):
            return True  # NOTE: x[(0, 1)] is x[0, 1]; a list, or a tuple inside the index, is an index tensor
    return False


def _split(x, idx):
    """(basic, groups): the basic index (tensors and masks as full slices) and, per advanced entry, the
    dims of x it covers and its Tensor, in order."""
    entries = [_as_index(i, x) for i in (idx if isinstance(idx, tuple) else (idx,))]
    used = sum(i[1].ndim if i[0] == "m" else 1 for i in entries if isinstance(i, tuple)) + sum(
        1 for i in entries if not isinstance(i, tuple) and i is not None and i is not Ellipsis)
    if used > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    basic, groups, xdim = [], [], 0
    for i in entries:
        if i is Ellipsis:
            basic += [slice(None)] * (x.ndim - used)
            xdim += x.ndim - used
            used = x.ndim
        elif isinstance(i, tuple) and i[1].ndim == 0:  # NOTE: x[True] is x[None][[0]], x[False] x[None][[]]
            from .._creation import tensor

            groups.append(("t", tensor([0] if i[1].item() else [], dtype=dt.int64, device=x.device), len(basic)))
            basic.append(None)
        elif isinstance(i, tuple):
            kind, t = i
            n = t.ndim if kind == "m" else 1
            if kind == "m":
                for j, s in enumerate(t.shape):
                    if s != x.shape[xdim + j]:
                        raise IndexError(f"The shape of the mask {size_str(t.shape)} at index {j} does not match the "
                                         f"shape of the indexed tensor {size_str(x.shape)} at index {xdim + j}")
            groups.append((kind, t, len(basic)))
            basic += [slice(None)] * n
            xdim += n
        else:
            basic.append(i)
            xdim += i is not None
    return basic, groups


def _positions(basic, groups):
    """The dims of y (x after the basic index) each group covers."""
    ydim, out, pos = {}, [], 0
    for k, i in enumerate(basic):
        ydim[k] = pos
        if i is None or isinstance(i, slice):
            pos += 1
    for kind, t, k in groups:
        n = t.ndim if kind == "m" else 1
        out.append(tuple(range(ydim[k], ydim[k] + n)))
    return out


def plan(x, idx):
    """(y, plan): the basic view of x and the IndexPlan of the advanced entries of `idx`."""
    basic, groups = _split(x, idx)
    if all(isinstance(i, slice) and i == slice(None) for i in basic):
        y = x
    else:
        y = x[tuple(b for b in basic)]
    dims = _positions(basic, groups)
    be = y._be
    # each group's index over its own dims: int tensors as they are, masks as flat positions
    flats = []
    for kind, t, _ in groups:
        flats.append(be.nonzero(t._data) if kind == "m" else t._data)
    try:
        bshape = broadcast_shapes(*(f.shape for f in flats))
    except RuntimeError:
        shapes = ", ".join(size_str(f.shape) for f in flats)
        raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together with shapes "
                         f"{shapes}") from None
    p = IndexPlan()
    shape = y.shape
    all_dims = [d for ds in dims for d in ds]
    adjacent = all_dims == list(range(all_dims[0], all_dims[0] + len(all_dims)))
    if adjacent:
        p.perm, p.permuted, start = None, shape, all_dims[0]
    else:
        rest = [d for d in range(len(shape)) if d not in all_dims]
        p.perm = tuple(all_dims + rest)
        p.permuted, start = tuple(shape[d] for d in p.perm), 0
    n_merged = math.prod(shape[d] for d in all_dims)
    p.merged = p.permuted[:start] + (n_merged,) + p.permuted[start + len(all_dims):]
    p.dim = start
    if len(groups) == 1 and groups[0][0] == "t":
        index, p.wrap = flats[0], True  # NOTE: the one-tensor case: index_select wraps and checks it
    else:
        index, p.wrap, stride = None, False, n_merged
        for k, ((kind, _, _), ds, f) in enumerate(zip(groups, dims, flats)):
            size = math.prod(shape[d] for d in ds)
            stride //= size
            # NOTE: one launch per index: index + wrap(f) * stride; masks' flat positions need no check
            index = be.index_term(f, k, size, stride, index, kind == "t")
    n = math.prod(bshape)
    if index.shape != bshape:
        index = be.contiguous(be.expand(index, bshape))
    flat = be.view(index, (n,))
    p.index = flat if flat is not None else be.view(be.contiguous(index), (n,))
    p.sel_shape = p.merged[:start] + (n,) + p.merged[start + 1:]
    p.out_shape = p.merged[:start] + bshape + p.merged[start + 1:]
    return y, p


def getitem(x, idx):
    if idx.__class__ is x.__class__ and idx._be is x._be and idx._dtype in (dt.int64, dt.int32) and x.ndim:
        return IndexTensor.apply(x, _one_tensor(x, idx))  # NOTE: C[X], an embedding lookup: the hot case
    y, p = plan(x, idx)
    return IndexTensor.apply(y, p)


def _one_tensor(x, t):
    """plan(x, t) for one int Tensor on x's device, without the general walk."""
    p = IndexPlan()
    shape = p.permuted = p.merged = x._data.shape
    p.perm, p.dim, p.wrap = None, 0, True
    index, n = t._data, t.numel()
    flat = x._be.view(index, (n,))
    p.index = flat if flat is not None else x._be.view(x._be.contiguous(index), (n,))
    p.sel_shape = (n,) + shape[1:]
    p.out_shape = index.shape + shape[1:]
    return p


def setitem(x, idx, value, accumulate=False, inplace=True):
    """x[idx] = value (accumulate: +=), in place, every check before the write. inplace=False:
    x.index_put(idx, value), the IndexPut row recorded on x itself, as PyTorch's (no CloneBackward0
    below it, and its launches: a copy, then the checked write)."""
    Tensor = _tensor()
    basic, groups = _split(x, idx)
    scalar = not isinstance(value, Tensor) or (value.ndim == 0 and not accumulate)
    if not accumulate and scalar and len(groups) == 1 and groups[0][0] == "m":
        if not inplace:
            return _put_clone(x, idx, value, accumulate)  # NOTE: a clone and masked_fill_: PyTorch's launches too
        y = x if all(isinstance(i, slice) and i == slice(None) for i in basic) else x[tuple(basic)]
        mask = groups[0][1]
        (ds,) = _positions(basic, groups)
        mask = mask.view(mask.shape + (1,) * (y.ndim - ds[-1] - 1))
        if isinstance(value, Tensor):
            value = value.to(y.device)
        return masked_fill_(y, mask, value, IndexPutMask)
    if not isinstance(value, Tensor):
        from .._creation import tensor

        value = tensor(value, dtype=x.dtype, device=x.device)
    elif value._dtype is not x._dtype:
        from .inplace import _SCALAR_NAMES as N

        raise RuntimeError(f"Index put requires the source and destination dtypes match, got {N[x.dtype.name]} for "
                           f"the destination and {N[value.dtype.name]} for the source.")
    y, p = plan(x, idx)
    if value._be is not y._be:
        value = value.to(y.device)
    try:
        broadcast_to = broadcast_shapes(value.shape, p.out_shape)
        if broadcast_to != p.out_shape:
            raise RuntimeError
    except RuntimeError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {size_str(value.shape)} cannot be broadcast to "
                           f"indexing result of shape {size_str(p.out_shape)}") from None
    if not inplace:
        return IndexPut.apply(x, value, p, accumulate) if y is x else _put_clone(x, idx, value, accumulate)
    return write(y, lambda s: IndexPut.apply(s, value, p, accumulate), (value,), lambda: _put_now(y, value, p,
                                                                                                accumulate))


def _put_clone(x, idx, value, accumulate):
    c = x.clone()
    setitem(c, idx, value, accumulate)
    return c


def _put_now(y, value, p, accumulate):
    be = y._be
    F = _arrays()[y._data.__class__]
    vals = F.reshape(be.broadcast(value._data, p.out_shape), p.sel_shape)
    target = y._data if p.perm is None else be.permute(y._data, p.perm)
    target = be.view(target, p.merged) if p.merged != p.permuted else target
    if target is None:  # NOTE: the indexed dims do not merge in y's memory: compute aside, copy back
        be.copy_(y._data, IndexPut.forward(y, value, p, accumulate))
        return
    with _pytorch_dim(p):
        if accumulate:
            be.index_add_(target, p.dim, p.index, vals, 1, p.wrap, None, True)
        else:
            be.index_copy_(target, p.dim, p.index, vals, p.wrap, True)


def write(t, out_of_place, others, now):
    """An in-place op on t: `now()` writes directly when no graph is recorded; otherwise
    `out_of_place(snapshot)` is recorded and written back (ops/inplace.py's rebase)."""
    from ..autograd.grad_mode import state
    from . import inplace as I

    Tensor = _tensor()
    I._check_overlap(t)
    I._check_autograd(t)
    if state.grad_enabled and (t._requires_grad or any(isinstance(o, Tensor) and o._requires_grad for o in others)):
        return I._record(t, out_of_place)
    now()
    t._vc[0] += 1
    return t


def masked_fill_(t, mask, value, cls=None):
    """t.masked_fill_(mask, value): mask (bool) broadcasts to t's shape; value a number or a 0-d Tensor."""
    from .index import MaskedFill, MaskedFillTensor

    Tensor = _tensor()
    cls = cls or (MaskedFillTensor if isinstance(value, Tensor) else MaskedFill)
    check_mask(t, mask, value, "masked_fill_")
    if broadcast_shapes(mask.shape, t.shape) != t.shape:
        mask.expand(t.shape)  # NOTE: raises PyTorch's message: an in-place op keeps t's shape

    def now():
        be = t._be
        if isinstance(value, Tensor):
            be.copy_(t._data, be.where(mask._data, value.to(t._dtype)._data, t._data))
        else:
            be.masked_fill_(t._data, mask._data, value)

    return write(t, lambda s: cls.apply(s, value, mask), (value,), now)


def check_mask(t, mask, value, name):
    Tensor = _tensor()
    if mask._dtype is not dt.bool_:
        raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype "
                           f"{_C_NAMES.get(mask.dtype.name, mask.dtype.name)}")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"{name} only supports a 0-dimensional value tensor, but got tensor with {value.ndim} "
                           "dimension(s).")
    if mask._be is not t._be:
        from .util import check_device

        check_device(t, mask)
    broadcast_shapes(mask.shape, t.shape)
