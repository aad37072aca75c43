"""Op table rows: vector norms, var / std, logsumexp, prod, cumsum (see ops/table.py).

Each reduces over `dims` (a sorted tuple; () means every dim) with `keepdim`; its derivative first
puts the reduced dims back as size 1 (`_unsqueeze_dims`), then broadcasts against the input.
"""
import math

from .reduce import _unsqueeze_dims
from .table import Op


def _count(shape, dims):
    return math.prod(shape[d] for d in dims) if dims else math.prod(shape)


def _kept(F, ctx, t):
    """A reduced result (or its gradient) with the reduced dims back as size 1."""
    return t if ctx.keepdim else _unsqueeze_dims(F, t, ctx.dims, ctx.shape)


class VectorNorm(Op):
    """linalg.vector_norm(a, ord, dims, keepdim), any ord: 1, 2 and inf in one pass of the norm kernel; -inf
    the least |x|; 0 the count of nonzeros (no gradient, as PyTorch); others (sum |x|**ord) ** (1/ord)."""

    node_name = "LinalgVectorNormBackward0"
    _n_inputs = 1
    _save_output = True

    @staticmethod
    def forward(a, ord, dims, keepdim):
        be = a._be
        if ord in (1, 2, math.inf):
            return be.vector_norm(a._data, ord, dims, keepdim)
        x = be.unary("abs", a._data)
        if ord == -math.inf:
            return be.reduce("amin", x, dims, keepdim)
        if ord == 0:
            return be.reduce("sum", be.astype(be.binary("ne", x, 0), a._dtype), dims, keepdim)
        if ord < 0:  # NOTE: 0 ** ord is inf, written so: no division by zero taken (nor warned of)
            zero = be.binary("eq", x, 0)
            xp = be.where(zero, math.inf, be.binary("pow", be.where(zero, 1, x), ord))
        else:
            xp = be.binary("pow", x, ord)
        return be.binary("pow", be.reduce("sum", xp, dims, keepdim), 1.0 / ord)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, ctx.ord, ctx.dims, ctx.keepdim = inputs
        ctx.save_for_backward(a)
        ctx.shape, ctx.dtype = a._data.shape, a._dtype

    @staticmethod
    def formula(ctx, F, g):
        p = ctx.ord
        if p == 0:
            return None  # NOTE: PyTorch's undefined gradient: x.grad stays None
        x, y = F.saved(ctx)
        g, y = _kept(F, ctx, g), _kept(F, ctx, y)
        if p == 1:
            return F.mul(g, F.sign(x))
        if p == 2:  # x / |x|, 0 where the norm is 0 (PyTorch's masked_fill)
            return F.mul(x, F.where(F.eq(y, 0), 0, F.div(g, y)))
        if p in (math.inf, -math.inf):  # shared evenly by the elements of largest (least) |x|, as PyTorch
            hit = F.astype(F.eq(F.abs(x), y), ctx.dtype)
            return F.mul(F.mul(F.sign(x), hit), F.div(g, F.sum(hit, ctx.dims, True)))
        # PyTorch's linalg_vector_norm_backward; NOTE: zeros masked before pow, so no 0 ** negative is taken
        zero_x, zero_y = F.eq(x, 0), F.eq(y, 0)
        ax = F.where(zero_x, 1, F.abs(x))
        if p < 1:
            scaled = F.where(zero_x, 0, F.mul(F.sign(x), F.pow(ax, p - 1)))
            return F.mul(F.mul(scaled, g), F.pow(y, 1 - p))
        scaled = F.mul(F.sign(x), F.pow(ax, p - 1)) if p < 2 else F.mul(x, F.pow(ax, p - 2))
        return F.mul(scaled, F.where(zero_y, 0, F.div(g, F.pow(F.where(zero_y, 1, y), p - 1))))


class Var(Op):
    node_name = "VarBackward0"
    _n_inputs = 1
    _sqrt = False

    @classmethod
    def forward(cls, a, dims, correction, keepdim):
        return a._be.var(a._data, dims, correction, keepdim, cls._sqrt)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, ctx.dims, correction, ctx.keepdim = inputs
        ctx.save_for_backward(a)
        ctx.shape = a._data.shape
        ctx.div = max(_count(ctx.shape, ctx.dims) - correction, 0)

    @staticmethod
    def formula(ctx, F, g):
        (x,) = F.saved(ctx)
        return F.mul(F.sub(x, F.mean(x, ctx.dims, True)), F.mul(_kept(F, ctx, g), 2 / ctx.div if ctx.div else math.inf))


class Std(Var):
    node_name = "StdBackward0"
    _save_output = True
    _sqrt = True

    @staticmethod
    def formula(ctx, F, g):
        x, y = F.saved(ctx)
        y = _kept(F, ctx, y)
        g = F.where(F.eq(y, 0), 0, F.div(_kept(F, ctx, g), y))  # NOTE: 0 where std is 0, as PyTorch
        return F.mul(F.sub(x, F.mean(x, ctx.dims, True)), F.mul(g, 1 / ctx.div if ctx.div else math.inf))


class LogSumExp(Op):
    """log(sum(exp(a))) over dims, with the max taken out first (no overflow)."""

    node_name = "LogsumexpBackward0"
    _n_inputs = 1
    _save_output = True

    @staticmethod
    def forward(a, dims, keepdim):
        be, x = a._be, a._data
        if not math.prod(x.shape):  # NOTE: log of an empty sum is -inf (amax has no identity for an empty dim)
            kept = tuple(1 if not dims or d in dims else n for d, n in enumerate(x.shape))
            return be.full(kept if keepdim else tuple(n for d, n in enumerate(x.shape) if dims and d not in dims),
                           -math.inf, a._dtype)
        m = be.reduce("amax", x, dims, True)
        m = be.where(be.unary("isinf", m), 0, m)  # NOTE: all -inf (or an inf) rows: no inf - inf
        s = be.unary("log", be.reduce("sum", be.unary("exp", be.binary("sub", x, m)), dims, True))
        out = be.binary("add", s, m)
        return out if keepdim else be.view(out, tuple(n for d, n in enumerate(x.shape) if dims and d not in dims))

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, ctx.dims, ctx.keepdim = inputs
        ctx.save_for_backward(a)
        ctx.shape = a._data.shape

    @staticmethod
    def formula(ctx, F, g):
        x, y = F.saved(ctx)
        return F.mul(_kept(F, ctx, g), F.exp(F.sub(x, _kept(F, ctx, y))))


class Prod(Op):
    """prod over all elements; the derivative handles zeros (the product of the others)."""

    node_name = "ProdBackward0"
    _n_inputs = 1

    @staticmethod
    def forward(a, dims, keepdim):
        return a._be.reduce("prod", a._data, dims, keepdim)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, ctx.dims, ctx.keepdim = inputs
        ctx.save_for_backward(a)
        ctx.shape, ctx.dtype = a._data.shape, a._dtype

    @staticmethod
    def formula(ctx, F, g):
        (x,) = F.saved(ctx)
        zero = F.eq(x, 0)
        x1 = F.where(zero, 1, x)
        p = F.prod(x1, ctx.dims, True)  # the product of the nonzero elements
        zeros = F.sum(F.astype(zero, ctx.dtype), ctx.dims, True)
        # no zero: p / x; one zero: p at the zero, 0 elsewhere; more: 0 everywhere
        d = F.where(F.eq(zeros, 0), F.div(p, x1), F.where(F.logical_and(zero, F.eq(zeros, 1)), p, 0))
        return F.mul(_kept(F, ctx, g), d)


class ProdDim(Prod):
    node_name = "ProdBackward1"
    primitive = "prod"


class Cumsum(Op):
    """Prefix sums along dim; from the end with `reverse` (cumsum's own derivative)."""

    node_name = "CumsumBackward0"
    primitive = "cumsum"
    _n_inputs = 1

    @staticmethod
    def forward(a, dim, reverse=False):
        return a._be.cumsum(a._data, dim, reverse)

    @staticmethod
    def setup_context(ctx, inputs, out):
        _, ctx.dim, *rev = inputs
        ctx.reverse = bool(rev and rev[0])

    @staticmethod
    def formula(ctx, F, g):
        return F.cumsum(g, ctx.dim, not ctx.reverse)
