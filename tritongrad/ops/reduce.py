"""Op table rows: sum and mean over all or some dims, max and min (whole, or along a dim with indices)."""
import math

from .. import _dtype as dt
from .table import Op


def _unsqueeze_dims(F, g, dims, shape):
    """Put back the reduced dims (as size 1) so that `g` broadcasts against the input."""
    if not dims:
        return g  # NOTE: a 0-dim gradient expands to any shape as it is
    return F.view(g, tuple(1 if i in dims else s for i, s in enumerate(shape)))


class Sum(Op):
    node_name = "SumBackward0"
    saved_as = {"self_sym_sizes": "shape"}
    _n_inputs = 1

    @staticmethod
    def forward(a, dims, keepdim, dtype=None):
        out = a._be.reduce("sum", a._data, dims, keepdim)
        return out if dtype is None else a._be.astype(out, dtype)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, ctx.dims, ctx.keepdim = inputs[:3]
        ctx.shape = a._data.shape

    @staticmethod
    def formula(ctx, F, g):
        if not ctx.keepdim:
            g = _unsqueeze_dims(F, g, ctx.dims, ctx.shape)
        return F.broadcast(g, ctx.shape)


class SumDim(Sum):
    node_name = "SumBackward1"
    saved_as = {"dim": "dims", "keepdim": "keepdim", "self_sym_sizes": "shape"}
    primitive = "sum"  # NOTE: F.sum(a, dims, keepdim) on Tensors; its node is SumBackward1 as for sum(dims)


class Mean(Op):
    node_name = "MeanBackward0"
    saved_as = {"self_sym_numel": lambda node: math.prod(node.shape), "self_sym_sizes": "shape"}
    _n_inputs = 1

    @staticmethod
    def forward(a, dims, keepdim):
        return a._be.reduce("mean", a._data, dims, keepdim)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, ctx.dims, ctx.keepdim = inputs
        ctx.shape = shape = a._data.shape
        n = 1
        for d in ctx.dims or range(len(shape)):
            n *= shape[d]
        ctx.n = n

    @staticmethod
    def formula(ctx, F, g):
        if not ctx.keepdim:
            g = _unsqueeze_dims(F, g, ctx.dims, ctx.shape)
        return F.broadcast(F.div(g, ctx.n), ctx.shape)


class MeanDim(Mean):
    node_name = "MeanBackward1"
    saved_as = {"dim": "dims", "keepdim": "keepdim", "self_sym_numel": lambda node: math.prod(node.shape),
                "self_sym_sizes": "shape"}
    primitive = "mean"


class MaxAll(Op):
    """max() / min() of all elements; the gradient is shared evenly among ties, as in PyTorch."""

    node_name = "MaxBackward1"
    saved_as = {"self": 0, "result": -1}
    _n_inputs = 1
    _save_output = True
    _op = "amax"

    @classmethod
    def forward(cls, a):
        if a.numel() == 0:
            raise RuntimeError(f"{cls._op[1:]}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        return a._be.reduce(cls._op, a._data, (), False)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(inputs[0])
        ctx.dtype = inputs[0]._dtype

    @staticmethod
    def formula(ctx, F, g):
        a, y = F.saved(ctx)
        # NOTE: a NaN result came from the NaNs: they share the gradient, as in PyTorch
        mask = F.astype(F.logical_or(F.eq(a, y), F.logical_and(F.isnan(a), F.isnan(y))), ctx.dtype)
        return F.mul(mask, F.div(g, F.sum(mask, (), False)))


class MinAll(MaxAll):
    node_name = "MinBackward1"
    _op = "amin"


class MaxDim(Op):
    """max(dim) / min(dim): (values, indices); the gradient goes to the index position."""

    node_name = "MaxBackward0"
    saved_as = {"dim": "dim", "keepdim": "keepdim", "self_sym_sizes": "shape"}
    _n_inputs = 1
    _op = "amax"

    @classmethod
    def forward(cls, a, dim, keepdim):
        if a.ndim and a.shape[dim] == 0:
            raise IndexError(f"{cls._op[1:]}(): Expected reduction dim {dim} to have non-zero size.")
        be = a._be
        values = be.reduce(cls._op, a._data, (dim,) if a.ndim else (), keepdim)
        idx = be.arg_reduce("arg" + cls._op[1:], a._data, dim if a.ndim else None, True)
        return values, (idx if keepdim or not a.ndim else be.view(idx, values.shape))

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, ctx.dim, ctx.keepdim = inputs
        ctx.shape = shape = a._data.shape
        if shape:  # the one-hot mask of each max's position along dim
            be, n = a._be, shape[ctx.dim]
            where = [1] * len(shape)
            where[ctx.dim] = n
            idx = out[1] if ctx.keepdim else be.view(out[1], shape[:ctx.dim] + (1,) + shape[ctx.dim + 1:])
            ctx.hit = be.binary("eq", be.view(be.arange(0, n, 1, dt.int64), tuple(where)), idx)

    @staticmethod
    def formula(ctx, F, g, g_indices=None):
        if not ctx.shape:
            return g
        if not ctx.keepdim:
            shape = ctx.shape
            g = F.view(g, shape[:ctx.dim] + (1,) + shape[ctx.dim + 1:])
        return F.where(F.const(ctx.hit, g), g, 0)


class MinDim(MaxDim):
    node_name = "MinBackward0"
    _op = "amin"


class Amax(Op):
    """amax(a, dims, keepdim) / amin: the gradient shared evenly among the elements equal to the result
    (PyTorch's grad * mask / mask.sum(dims): a NaN result gives NaN gradients, as PyTorch)."""

    node_name = "AmaxBackward0"
    saved_as = {"dim": "dims", "keepdim": "keepdim", "result": -1, "self": 0}
    _n_inputs = 1
    _save_output = True
    _op = "amax"

    @classmethod
    def forward(cls, a, dims, keepdim):
        return a._be.reduce(cls._op, a._data, dims, keepdim)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, ctx.dims, ctx.keepdim = inputs
        ctx.save_for_backward(a)
        ctx.shape, ctx.dtype = a._data.shape, a._dtype

    @staticmethod
    def formula(ctx, F, g):
        a, y = F.saved(ctx)
        if not ctx.keepdim:
            g, y = _unsqueeze_dims(F, g, ctx.dims, ctx.shape), _unsqueeze_dims(F, y, ctx.dims, ctx.shape)
        mask = F.astype(F.eq(a, y), ctx.dtype)
        return F.div(F.mul(g, mask), F.sum(mask, ctx.dims, True))


class Amin(Amax):
    node_name = "AminBackward0"
    _op = "amin"

