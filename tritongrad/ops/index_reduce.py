"""Op table rows: scatter_reduce (sum, prod, mean, amax, amin; include_self or not) and the deprecated
`reduce=` of scatter ('add', 'multiply'), whose derivative PyTorch does not implement.

The forward is the backend's `scatter_reduce` primitive (deterministic on both devices, see
kernels/scatter_reduce.py). The derivative is PyTorch's scatter_reduce_backward, in the F vocabulary;
`index` is a backend array, as in ops/index.py.
"""
import warnings

from ..autograd.graph import Node, _sequence, edge
from .table import Op, provides
from .util import check_device


def _ones(F, like):
    return F.add(F.zeros_like(like), 1)


class ScatterReduce(Op):
    """a.scatter_reduce(dim, index, src, reduce, include_self=...); args (a, src, dim, index, reduce,
    include_self, check)."""

    node_name = "ScatterReduceBackward0"
    saved_as = {"dim": "dim", "include_self": "include_self", "index": lambda n: n.index_tensor(),
                "reduce": "reduce", "result": -1, "self": 0, "src": 1}
    _n_inputs = 2
    _save_output = True

    @staticmethod
    def forward(a, src, dim, index, reduce, include_self, check):
        return a._be.scatter_reduce(a._data, dim, index, src._data, reduce, include_self, check)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, src, ctx.dim, ctx.index, ctx.reduce, ctx.include_self, _ = inputs
        ctx.save_for_backward(a, src)
        ctx.src_shape, ctx.dtype = src._data.shape, src._dtype

    @staticmethod
    def formula(ctx, F, g):
        a, src, y = F.saved(ctx)
        dim, index, reduce, include = ctx.dim, ctx.index, ctx.reduce, ctx.include_self
        if src.shape != index.shape:  # NOTE: src may be larger than the index: the rest is never read
            src = F.index(src, tuple(slice(0, n) for n in index.shape))

        def gather(t):
            return F.gather(t, dim, index, False)

        def scatter_add(base, t):
            return F.scatter(base, dim, index, t, "add", False)

        if reduce == "sum":
            ga, gs = g, gather(g)
        elif reduce == "mean":
            n = scatter_add(_ones(F, g) if include else F.zeros_like(g), _ones(F, src))
            n = F.where(F.eq(n, 0), 1, n)
            ga, gs = F.div(g, n), F.div(gather(g), gather(n))
        elif reduce in ("amax", "amin"):  # shared evenly by the values equal to the result
            self_is, src_is = F.astype(F.eq(a, y), ctx.dtype), F.astype(F.eq(src, gather(y)), ctx.dtype)
            share = F.div(g, scatter_add(self_is, src_is))
            ga, gs = F.mul(self_is, share), F.mul(src_is, gather(share))
        else:  # prod: products of the others, computed again where a factor is 0 (PyTorch's way)
            a1 = F.where(F.eq(a, 0), 1, a)
            ga = F.div(F.mul(g, F.scatter_reduce(a1, dim, index, src, "prod", include, False)), a1)
            src_zero = F.eq(src, 0)
            zeros = gather(scatter_add(F.zeros_like(a), F.astype(src_zero, ctx.dtype)))
            single = F.logical_and(src_zero, F.eq(zeros, 1))
            others = F.scatter_reduce(a, dim, index, F.where(single, 1, src), "prod", include, False)
            gs = F.where(single, gather(F.mul(g, others)), F.div(gather(F.mul(g, y)), F.where(src_zero, 1, src)))
        if not include:  # the elements scattered to did not take part
            ga = F.where(F.ne(scatter_add(F.zeros_like(g), _ones(F, gs)), 0), 0, ga)
        if gs.shape != ctx.src_shape:
            gs = F.index_backward(gs, ctx.src_shape, tuple(slice(0, n) for n in gs.shape), ctx.dtype)
        na, ns = ctx.needs_input_grad
        return ga if na else None, gs if ns else None


ScatterReduce._backward_cls.index_tensor = lambda node: _tensor()._make(node.index)
provides("scatter_reduce", lambda a, dim, index, src, reduce, include_self=True, check=True: ScatterReduce.apply(
    a, src, dim, index, reduce, include_self, check))


def _tensor():
    from ..tensor import Tensor

    return Tensor


class ScatterNotImplemented(Node):
    """The node of scatter(..., reduce=...) on inputs that require grad: PyTorch has no derivative for it
    and records this node, whose backward raises."""

    def __init__(self, inputs):
        self.next_functions = tuple(edge(t) for t in inputs)
        self._seq = next(_sequence)

    def name(self):
        return "torch::autograd::NotImplemented"

    def apply(self, *grads):
        raise RuntimeError("derivative for aten::scatter is not implemented")


REDUCES = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(t, dim, idx, src, reduce, include_self, inplace):
    """t.scatter_reduce(_)(dim, idx, src, reduce, include_self=...): dim wrapped, idx a backend array."""
    from .. import _dtype as dt
    from . import advanced

    if reduce not in REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if not hasattr(src, "_data"):
        raise TypeError(f"scatter_reduce(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}")
    if reduce == "mean" and t._dtype is dt.bool_:
        raise NotImplementedError(f'"scatter_gather_tensor_{t.device.type}_reduce_mean" not implemented for \'Bool\'')
    check_device(t, src)
    be = t._be
    if inplace:
        return advanced.write(t, lambda s: ScatterReduce.apply(s, src, dim, idx, reduce, include_self, True), (src,),
                              lambda: be.copy_(t._data, be.scatter_reduce(t._data, dim, idx, src._data, reduce,
                                                                          include_self, True)))
    return ScatterReduce.apply(t, src, dim, idx, reduce, include_self, True)


def scatter_legacy(t, dim, idx, src, reduce, inplace):
    """t.scatter(_)(dim, idx, src or a Python number, reduce='add' | 'multiply'): no derivative (PyTorch)."""
    from . import advanced

    if reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    be = t._be
    if hasattr(src, "_data"):
        check_device(t, src)
        warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and will be removed in a "
                      "future PyTorch release. Use torch.scatter_reduce instead for more reduction options.",
                      UserWarning, stacklevel=4)
        inputs, data = (src,), src._data
    else:
        inputs, data = (), be.full(idx.shape, src, t._dtype)
    op = "sum" if reduce == "add" else "prod"

    def out_of_place(a):
        from ..autograd.grad_mode import state

        out = a._make(be.scatter_reduce(a._data, dim, idx, data, op, True, True))
        if state.grad_enabled and any(x._requires_grad for x in (a, *inputs)):
            out._grad_fn, out._requires_grad = ScatterNotImplemented((a, *inputs)), True
        return out

    if not inplace:
        return out_of_place(t)
    return advanced.write(t, out_of_place, inputs,
                          lambda: be.copy_(t._data, be.scatter_reduce(t._data, dim, idx, data, op, True, True)))
