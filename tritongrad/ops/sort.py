"""Op table rows: sort and topk (values and indices along a dim) (see ops/table.py). The gradient of
the values goes back to the positions the indices name (PyTorch's value_selecting_reduction_backward):
zeros.scatter(dim, indices, g), the index ops' Scatter row (ScatterBackward0, as PyTorch's create_graph
shows it), whose own derivative is their gather. Indices are distinct, so no two gradients collide.
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
        return F.scatter(F.zeros(g, ctx.shape), ctx.dim, ctx.indices, g, None, False)


class SortStable(Sort):
    node_name = "SortBackward1"


class Topk(Sort):
    node_name = "TopkBackward0"
