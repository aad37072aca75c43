"""Op table rows: gathers and scatters along one dim, masked fills, and advanced indexing.

`index` arguments here are backend arrays (int32 / int64), not Tensors: they take no gradient, and
the same row then serves a formula on arrays and on Tensors. The backend primitives (kernels/index.py
on CUDA, backends/cpu_nn.py on the CPU) check shapes, dtypes and bounds before writing anything.

Advanced indexing (`x[idx]`, `x[idx] = v`, index_put_) reduces every index to one flat index
along one dim (an `IndexPlan`, see ops/advanced.py): `IndexTensor` gathers along it (index_select),
`IndexPut` writes or adds along it; their gradients are the other one.
"""
from .table import Op, provides

_LATE = {}  # NOTE: the Tensor class and formulas.ARRAYS, modules above this one: looked up once, on first use


def _tensor():
    t = _LATE.get("Tensor")
    if t is None:
        from ..tensor import Tensor

        t = _LATE["Tensor"] = Tensor
    return t


def _arrays():
    a = _LATE.get("ARRAYS")
    if a is None:
        from .formulas import ARRAYS

        a = _LATE["ARRAYS"] = ARRAYS
    return a


class IndexSelect(Op):
    node_name = "IndexSelectBackward0"
    primitive = "index_select"
    _n_inputs = 1

    @staticmethod
    def forward(x, dim, index, wrap, check):
        return x._be.index_select(x._data, dim, index, wrap, check)

    @staticmethod
    def setup_context(ctx, inputs, out):
        x, ctx.dim, ctx.index, ctx.wrap, _ = inputs
        ctx.shape = x._data.shape

    @staticmethod
    def formula(ctx, F, g):
        return F.index_select_backward(g, ctx.shape, ctx.dim, ctx.index, ctx.wrap)


class IndexSelectBackward(Op):
    """index_select's gradient as an op (double backward): zeros with g added at the indices."""

    node_name = "IndexAddBackward0"
    primitive = "index_select_backward"
    _n_inputs = 1

    @staticmethod
    def forward(g, shape, dim, index, wrap):
        return g._be.index_select_backward(g._data, shape, dim, index, wrap)

    @staticmethod
    def setup_context(ctx, inputs, out):
        _, _, ctx.dim, ctx.index, ctx.wrap = inputs

    @staticmethod
    def formula(ctx, F, gg):
        return F.index_select(gg, ctx.dim, ctx.index, ctx.wrap, False)


class Gather(Op):
    node_name = "GatherBackward0"
    primitive = "gather"
    _n_inputs = 1

    @staticmethod
    def forward(x, dim, index, check):
        return x._be.gather(x._data, dim, index, check)

    @staticmethod
    def setup_context(ctx, inputs, out):
        x, ctx.dim, ctx.index, _ = inputs
        ctx.shape = x._data.shape

    @staticmethod
    def formula(ctx, F, g):
        return F.gather_backward(g, ctx.shape, ctx.dim, ctx.index)


class GatherBackward(Op):
    node_name = "ScatterAddBackward0"
    primitive = "gather_backward"
    _n_inputs = 1

    @staticmethod
    def forward(g, shape, dim, index):
        return g._be.gather_backward(g._data, shape, dim, index)

    @staticmethod
    def setup_context(ctx, inputs, out):
        _, _, ctx.dim, ctx.index = inputs

    @staticmethod
    def formula(ctx, F, gg):
        return F.gather(gg, ctx.dim, ctx.index, False)


def _src_grad(F, g, ctx):
    """The gradient of a scatter's src: g gathered at the indices, zero where src was not read."""
    gs = F.gather(g, ctx.dim, ctx.index, False)
    if gs.shape != ctx.src_shape:  # NOTE: src may be larger than the index: its other elements are unused
        gs = F.index_backward(gs, ctx.src_shape, tuple(slice(0, n) for n in gs.shape), ctx.dtype)
    return gs


class Scatter(Op):
    """a.scatter(dim, index, src) (reduce=None) or a.scatter_add(dim, index, src) (reduce='add')."""

    node_name = "ScatterBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(a, src, dim, index, reduce, check):
        return a._be.scatter(a._data, dim, index, src._data, reduce, check)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, src, ctx.dim, ctx.index, ctx.reduce, _ = inputs
        ctx.src_shape, ctx.dtype = src._data.shape, src._dtype

    @staticmethod
    def formula(ctx, F, g):
        na, ns = ctx.needs_input_grad
        gs = _src_grad(F, g, ctx) if ns or (na and ctx.reduce is None) else None
        ga = None
        if na:
            ga = g if ctx.reduce == "add" else F.scatter(g, ctx.dim, ctx.index, F.zeros_like(F.gather(
                g, ctx.dim, ctx.index, False)), None, False)
        return ga, gs if ns else None


class ScatterAdd(Scatter):
    node_name = "ScatterAddBackward0"


class ScatterValue(Op):
    """a.scatter(dim, index, value) for a Python number."""

    node_name = "ScatterBackward1"
    _n_inputs = 1

    @staticmethod
    def forward(a, dim, index, value, check):
        be = a._be
        return be.scatter(a._data, dim, index, be.full(index.shape, value, a._dtype), None, check)

    @staticmethod
    def setup_context(ctx, inputs, out):
        _, ctx.dim, ctx.index, _, _ = inputs

    @staticmethod
    def formula(ctx, F, g):
        return F.scatter(g, ctx.dim, ctx.index, F.zeros_like(F.gather(g, ctx.dim, ctx.index, False)), None, False)


class IndexPutAlong(Op):
    """A copy of `a` with `values` written (accumulate: added) at `index` along `dim`; values has a's
    shape with len(index) along dim. index_copy, index_add (alpha applied by the caller) and advanced
    index_put (through ops/advanced.py's plan) are this row."""

    node_name = "IndexPutBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(a, values, dim, index, accumulate, wrap, check):
        return a._be.index_put(a._data, dim, index, values._data, accumulate, wrap, check)

    @staticmethod
    def setup_context(ctx, inputs, out):
        _, _, ctx.dim, ctx.index, ctx.accumulate, ctx.wrap, _ = inputs

    @staticmethod
    def formula(ctx, F, g):
        na, nv = ctx.needs_input_grad
        gv = F.index_select(g, ctx.dim, ctx.index, ctx.wrap, False) if nv or not ctx.accumulate else None
        ga = None
        if na:
            ga = g if ctx.accumulate else F.index_put(g, ctx.dim, ctx.index, F.zeros_like(gv), False, ctx.wrap, False)
        return ga, gv


# F.scatter / F.index_put on Tensors: the primitives' argument order (the ops take their inputs first)
provides("scatter", lambda a, dim, index, src, reduce=None, check=True: Scatter.apply(
    a, src, dim, index, reduce, check))
provides("index_put", lambda a, dim, index, values, accumulate=False, wrap=False, check=True: IndexPutAlong.apply(
    a, values, dim, index, accumulate, wrap, check))


class IndexCopy(IndexPutAlong):
    node_name = "IndexCopyBackward0"


class IndexAdd(IndexPutAlong):
    node_name = "IndexAddBackward0"


class MaskedFill(Op):
    """where(mask, value, a): `value` a Python number or a 0-d Tensor (which then gets a gradient)."""

    node_name = "MaskedFillBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(a, value, mask):
        be = a._be
        v = value.to(a._dtype)._data if hasattr(value, "_data") else be.full((), value, a._dtype)
        return be.where(mask._data, v, a._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, value, mask = inputs
        ctx.mask, ctx.shape = mask._data, a._data.shape
        ctx.value_meta = (value._dtype,) if hasattr(value, "_data") else None

    @staticmethod
    def formula(ctx, F, g):
        na, nv = ctx.needs_input_grad
        mask = F.const(ctx.mask, g)
        ga = F.sum_to(F.where(mask, 0, g), ctx.shape) if na else None
        gv = None
        if nv:
            gv = F.sum(F.where(mask, g, 0), (), False)
            if gv.dtype != ctx.value_meta[0]:
                gv = F.astype(gv, ctx.value_meta[0])
        return ga, gv


class MaskedFillTensor(MaskedFill):
    node_name = "MaskedFillBackward1"


class IndexPutMask(MaskedFill):
    """x[mask] = number: a masked fill, named as PyTorch names the index_put it is."""

    node_name = "IndexPutBackward0"


class MaskedSelect(Op):
    """x (broadcast to `shape`) at the flat positions `pos` of the set elements of the broadcast mask."""

    node_name = "MaskedSelectBackward0"
    _n_inputs = 1

    @staticmethod
    def forward(x, shape, pos):
        F = _arrays()[x._data.__class__]
        n = 1
        for s in shape:
            n *= s
        return F.index_select(F.reshape(F.broadcast(x._data, shape), (n,)), 0, pos, False, False)

    @staticmethod
    def setup_context(ctx, inputs, out):
        x, ctx.shape, ctx.pos = inputs
        ctx.x_shape = x._data.shape

    @staticmethod
    def formula(ctx, F, g):
        n = 1
        for s in ctx.shape:
            n *= s
        g = F.index_select_backward(g, (n,), 0, ctx.pos, False)
        return F.sum_to(F.reshape(g, ctx.shape), ctx.x_shape)
