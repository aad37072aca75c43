"""Op table rows of tritongrad.nn.functional: (log-)softmax, the negative log-likelihood and the squared error.

(log-)softmax is one fused backend pass forward and one backward (kernels/loss.py on CUDA), each
backward an op itself so that higher-order gradients work. NllLoss selects each row's target
class with a one-hot mask (`arange(C) == target`), not with advanced indexing: the same backend
primitives on both devices, and its backward is a product with that (constant) mask.
"""
import math

from .. import _dtype as dt
from .table import Op, fused
from .util import broadcast_shapes


class LogSoftmax(Op):
    node_name = "LogSoftmaxBackward0"
    saved_as = {"dim": "dim", "result": -1}
    primitive = "log_softmax"
    _n_inputs = 1
    _save_output = True

    @staticmethod
    def forward(a, dim):
        if not a.shape[dim]:  # NOTE: zero classes: an empty result, as PyTorch's (NumPy's max has no identity)
            return a._be.empty(a._data.shape, a._dtype)
        return a._be.log_softmax(a._data, dim)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.dim = inputs[1]

    @staticmethod
    def formula(ctx, F, g):
        (y,) = F.saved(ctx)
        return F.log_softmax_backward(g, y, ctx.dim)


def _sum(F, x, dim):
    return F.sum(x, (dim,), True)


LogSoftmaxBackward = fused(  # g - exp(y) * sum(g, dim)
    "log_softmax_backward", "LogSoftmaxBackwardDataBackward0",
    lambda F, gg, g, y, d: (F.sub(gg, _sum(F, F.mul(gg, F.exp(y)), d)),
                            F.mul(F.mul(F.neg(gg), F.exp(y)), _sum(F, g, d))))


class Softmax(Op):
    node_name = "SoftmaxBackward0"
    saved_as = {"dim": "dim", "result": -1}
    primitive = "softmax"
    _n_inputs = 1
    _save_output = True

    @staticmethod
    def forward(a, dim):
        return LogSoftmax.forward(a, dim) if not a.shape[dim] else a._be.softmax(a._data, dim)

    setup_context = LogSoftmax.setup_context

    @staticmethod
    def formula(ctx, F, g):
        (y,) = F.saved(ctx)
        return F.softmax_backward(g, y, ctx.dim)


SoftmaxBackward = fused(  # y * (g - sum(g * y, dim))
    "softmax_backward", "SoftmaxBackwardDataBackward0",
    lambda F, gg, g, y, d: (F.softmax_backward(gg, y, d),
                            F.sub(F.mul(gg, F.sub(g, _sum(F, F.mul(g, y), d))), F.mul(g, _sum(F, F.mul(gg, y), d)))))


def class_dim(logp):
    """The class dim: 1 of (N, C, d...), 0 of a single sample (C,)."""
    return 1 if logp.ndim > 1 else 0


def class_mask(logp, target, weight, ignore_index):
    """Backend array w of logp's shape (N, C, d...) or (C,): weight[c] (or 1) where c == target,
    else 0; rows whose target is `ignore_index` are all 0. `target` is int64 of shape (N, d...) or ()."""
    be, shape, cd = logp._be, logp.shape, class_dim(logp)
    lead = (1,) * cd + (shape[cd],) + (1,) * (len(shape) - cd - 1)
    classes = be.view(be.arange(0, shape[cd], 1, dt.int64), lead)
    tgt = be.contiguous(target._data)
    tgt = be.view(tgt, shape[:cd] + (1,) + shape[cd + 1:])
    hot = be.binary("logical_and", be.binary("eq", classes, tgt), be.binary("ne", tgt, ignore_index))
    w = be.astype(hot, logp.dtype)
    if weight is not None:
        w = be.binary("mul", w, be.view(be.contiguous(weight._data), lead))
    return w


class NllLoss(Op):
    """-sum(w * logp, class dim), then none / sum / mean (divided by sum(w)), w = class_mask(...)."""

    node_name = "NllLossBackward0"
    _n_inputs = 1

    @staticmethod
    def forward(ctx, logp, target, weight, reduction, ignore_index):  # NOTE: old style: backward needs w
        be = logp._be
        w = class_mask(logp, target, weight, ignore_index)
        cd = class_dim(logp)
        # NOTE: where, not a plain product: 0 * -inf (a masked logit of another class) is NaN.
        picked = be.binary("ne", w, 0)
        loss = be.unary("neg", be.reduce("sum", be.where(picked, be.binary("mul", w, logp._data), 0), (cd,), False))
        ctx.w, ctx.reduction, ctx.cd = w, reduction, cd  # NOTE: no-ops without a graph (ctx is then a null object)
        if reduction == "none":
            return loss
        loss = be.reduce("sum", loss, (), False)
        if reduction == "sum":
            return loss
        total = be.reduce("sum", w, (), False)
        # NOTE: the gradient's weights w / total, zero where w is (every target ignored: total == 0, and
        # PyTorch's gradient is 0, not 0 / 0); the loss itself is 0 / 0 = nan then, as PyTorch's.
        ctx.w = be.where(picked, be.binary("div", w, total), 0)
        return be.binary("div", loss, total)

    @staticmethod
    def formula(ctx, F, g):
        if ctx.reduction == "none":
            g = F.view(g, g.shape[:ctx.cd] + (1,) + g.shape[ctx.cd:])
        return F.mul(F.neg(F.const(ctx.w, g)), g)


_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}  # PyTorch's at::Reduction enum, as `_saved_reduction` shows it


class MseLoss(Op):
    """(a - b) ** 2 broadcast, then none / sum / mean."""

    node_name = "MseLossBackward0"
    saved_as = {"self": 0, "target": 1, "reduction": lambda node: _REDUCTIONS[node.reduction]}
    _n_inputs = 2

    @staticmethod
    def forward(a, b, reduction):
        be = a._be
        d = be.binary("sub", a._data, b._data)
        sq = be.binary("mul", d, d)
        return sq if reduction == "none" else be.reduce(reduction, sq, (), False)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, b, ctx.reduction = inputs
        ctx.save_for_backward(a, b)
        ctx.shapes = a._data.shape, b._data.shape
        ctx.numel = math.prod(broadcast_shapes(*ctx.shapes))

    @staticmethod
    def formula(ctx, F, g):
        a, b = F.saved(ctx)
        # NOTE: an empty input has no gradient to scale (and 2 / 0 would raise)
        scale = (2.0 / ctx.numel if ctx.numel else math.nan) if ctx.reduction == "mean" else 2.0
        grad = F.mul(F.sub(a, b), F.mul(g, scale))
        na, nb = ctx.needs_input_grad
        return F.sum_to(grad, ctx.shapes[0]) if na else None, F.sum_to(F.neg(grad), ctx.shapes[1]) if nb else None
