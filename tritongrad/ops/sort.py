"""Op table rows: sort and topk (values and indices along a dim), and the gather / scatter pair that
is their derivative (see ops/table.py). The gradient of the values goes back to the positions the
indices name (PyTorch's value_selecting_reduction_backward): a scatter into zeros, whose own
derivative is a gather of the same indices. Indices are distinct, so no two gradients collide.
"""
from .table import Op


class Sort(Op):
    """(values, indices) = the first k (all: None) of `a` along dim, sorted."""

    node_name = "SortBackward0"
    _n_inputs = 1

    @staticmethod
    def forward(a, dim, descending, k=None):
        return a._be.sort(a._data, dim, descending, k)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, ctx.dim = inputs[:2]
        ctx.shape, ctx.indices = a._data.shape, out[1]

    @staticmethod
    def formula(ctx, F, g, g_indices=None):
        return F.scatter_dim(g, ctx.dim, F.const(ctx.indices, g), ctx.shape)


class SortStable(Sort):
    node_name = "SortBackward1"


class Topk(Sort):
    node_name = "TopkBackward0"


class ScatterDim(Op):
    """Zeros of `shape` with g at `index` along dim (index: a backend array or a Tensor)."""

    node_name = "ValueSelectingReductionBackwardBackward0"
    primitive = "scatter_dim"
    _n_inputs = 1

    @staticmethod
    def forward(g, dim, index, shape):
        return g._be.scatter_dim(g._data, dim, index._data, shape)

    @staticmethod
    def setup_context(ctx, inputs, out):
        _, ctx.dim, ctx.index, _ = inputs

    @staticmethod
    def formula(ctx, F, gg):
        return F.gather_dim(gg, ctx.dim, F.const(ctx.index._data, gg))


class GatherDim(Op):
    """a's values at `index` along dim (a Tensor index): scatter_dim's derivative."""

    node_name = "GatherBackward0"
    primitive = "gather_dim"
    _n_inputs = 1

    @staticmethod
    def forward(a, dim, index):
        return a._be.gather_dim(a._data, dim, index._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, ctx.dim, ctx.index = inputs
        ctx.shape = a._data.shape

    @staticmethod
    def formula(ctx, F, g):
        return F.scatter_dim(g, ctx.dim, F.const(ctx.index._data, g), ctx.shape)
