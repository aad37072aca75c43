"""Op table rows: joining (cat, stack), splitting (split, unbind: views), repeating, flipping, rolling,
triangles and diagonals.

cat and stack take any number of inputs: their class is made per arity (`_arity`), since an op's
inputs are its first `_n_inputs` arguments. Both are the backend's `cat` (stack: of the inputs with
a size-1 dim inserted): one launch on CUDA for any number of inputs (kernels/index_ops.py); their
gradients are views of the incoming gradient (slices), no copies.
"""
from .table import Op, provides

_ARITIES = {}


def _arity(cls, n):
    key = (cls, n)
    got = _ARITIES.get(key)
    if got is None:
        got = _ARITIES[key] = type(f"{cls.__name__}{n}", (cls,), {"_n_inputs": n, "node_name": cls.node_name,
                                                                  "__module__": cls.__module__})
    return got


class Cat(Op):
    """cat(tensors, dim): inputs of one dtype and device, checked by the caller; args (*tensors, dim)."""

    node_name = "CatBackward0"

    @staticmethod
    def forward(*args):
        *ts, dim = args
        return ts[0]._be.cat([t._data for t in ts], dim)

    @staticmethod
    def setup_context(ctx, inputs, out):
        *ts, dim = inputs
        ctx.slices = _slices(ts, dim)

    @staticmethod
    def formula(ctx, F, g):
        return tuple(F.index(g, sl) if need else None for sl, need in zip(ctx.slices, ctx.needs_input_grad))


def _slices(ts, dim):
    out, start = [], 0
    for t in ts:
        n = t._data.shape[dim]
        out.append((slice(None),) * dim + (slice(start, start + n),))
        start += n
    return out


class Stack(Op):
    """stack(tensors, dim): inputs of one shape, dtype and device; args (*tensors, dim)."""

    node_name = "StackBackward0"

    @staticmethod
    def forward(*args):
        *ts, dim = args
        be, shape = ts[0]._be, ts[0]._data.shape
        return be.cat([be.view(t._data, shape[:dim] + (1,) + shape[dim:]) for t in ts], dim)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.dim = inputs[-1]

    @staticmethod
    def formula(ctx, F, g):
        pre = (slice(None),) * ctx.dim
        return tuple(F.index(g, pre + (i,)) if need else None for i, need in enumerate(ctx.needs_input_grad))


def cat(ts, dim):
    return _arity(Cat, len(ts)).apply(*ts, dim)


def stack(ts, dim):
    return _arity(Stack, len(ts)).apply(*ts, dim)


provides("cat", lambda ts, dim: cat(ts, dim))


class Split(Op):
    """x.split(split_size, dim): the pieces, views of x, as the outputs of ONE node (PyTorch's
    SplitBackward0; each piece's grad_fn is that node, its output_nr the piece's place); args
    (x, dim, sizes, split_size, the dim as the caller gave it). The gradient is the pieces' gradients
    joined (zeros for a piece that got none): one cat."""

    node_name = "SplitBackward0"
    saved_as = {"dim": lambda n: n.given_dim % 2 ** 64, "self_sym_sizes": "shape", "split_size": "split_size"}
    _n_inputs = 1
    _multi_output = True
    _keep_dim = True  # unbind: False, its pieces lose the dim

    @staticmethod
    def forward(x, dim, sizes, split_size, given_dim):
        be, data, pre = x._be, x._data, (slice(None),) * dim
        return tuple(be.index(data, pre + (sl,)) for sl in _pieces(sizes))

    @staticmethod
    def setup_context(ctx, inputs, out):
        x, ctx.dim, ctx.sizes, ctx.split_size, ctx.given_dim = inputs
        ctx.shape, ctx.dtype = x._data.shape, x._dtype

    @staticmethod
    def formula(ctx, F, *grads):
        dim, pre = ctx.dim, (slice(None),) * ctx.dim
        idx = [pre + (sl,) for sl in _pieces(ctx.sizes)]
        first = next(i for i, g in enumerate(grads) if g is not None)
        if not ctx._forward_cls._keep_dim:
            grads = [None if g is None else F.reshape(g, g.shape[:dim] + (1,) + g.shape[dim:]) for g in grads]
        if any(g is None for g in grads):  # NOTE: zeros for them: views of one zero-filled gradient
            z = F.index_backward(grads[first], ctx.shape, idx[first], ctx.dtype)
            grads = [F.index(z, sl) if g is None else g for g, sl in zip(grads, idx)]
        return F.cat(list(grads), dim)


class SplitWithSizes(Split):
    node_name = "SplitWithSizesBackward0"
    saved_as = {"dim": Split.saved_as["dim"], "self_sym_sizes": "shape", "split_sizes": "sizes"}


class Unbind(Split):
    node_name = "UnbindBackward0"
    saved_as = {"dim": Split.saved_as["dim"]}
    _keep_dim = False

    @staticmethod
    def forward(x, dim, sizes, split_size, given_dim):
        be, data, pre = x._be, x._data, (slice(None),) * dim
        return tuple(be.index(data, pre + (i,)) for i in range(len(sizes)))


def _pieces(sizes):
    out, start = [], 0
    for s in sizes:
        out.append(slice(start, start + s))
        start += s
    return out


class Repeat(Op):
    """x.repeat(*reps), len(reps) >= x.ndim: x seen as (1, s0, 1, s1, ...) expanded to (r0, s0, r1, s1, ...)."""

    node_name = "RepeatBackward0"
    _n_inputs = 1

    @staticmethod
    def forward(x, reps):
        be = x._be
        lead = len(reps) - x.ndim
        shape = (1,) * lead + x._data.shape
        pairs = tuple(v for s in shape for v in (1, s))
        big = tuple(v for r, s in zip(reps, shape) for v in (r, s))
        out = be.empty(big, x._dtype)
        src = be.view(x._data, pairs)
        if src is None:
            src = be.view(be.contiguous(x._data), pairs)
        be.copy_(out, be.expand(src, big))
        return be.view(out, tuple(r * s for r, s in zip(reps, shape)))

    @staticmethod
    def setup_context(ctx, inputs, out):
        x, reps = inputs
        ctx.shape, ctx.reps = x._data.shape, reps

    @staticmethod
    def formula(ctx, F, g):
        shape = (1,) * (len(ctx.reps) - len(ctx.shape)) + ctx.shape
        big = tuple(v for r, s in zip(ctx.reps, shape) for v in (r, s))
        g = F.sum(F.reshape(g, big), tuple(range(0, len(big), 2)), False)
        return F.view(g, ctx.shape) if g.shape != ctx.shape else g


class Flip(Op):
    node_name = "FlipBackward0"
    primitive = "flip"
    _n_inputs = 1

    @staticmethod
    def forward(x, dims):
        return x._be.flip(x._data, dims)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.dims = inputs[1]

    @staticmethod
    def formula(ctx, F, g):
        return F.flip(g, ctx.dims)


class Roll(Op):
    node_name = "RollBackward0"
    primitive = "roll"
    _n_inputs = 1

    @staticmethod
    def forward(x, shifts, dims):
        return x._be.roll(x._data, shifts, dims)

    @staticmethod
    def setup_context(ctx, inputs, out):
        _, ctx.shifts, ctx.dims = inputs

    @staticmethod
    def formula(ctx, F, g):
        return F.roll(g, tuple(-s for s in ctx.shifts), ctx.dims)


class Tril(Op):
    node_name = "TrilBackward0"
    primitive = "tril"
    _n_inputs = 1

    @staticmethod
    def forward(x, diagonal, upper):
        return x._be.tril(x._data, diagonal, upper)

    @staticmethod
    def setup_context(ctx, inputs, out):
        _, ctx.diagonal, ctx.upper = inputs

    @staticmethod
    def formula(ctx, F, g):
        return F.tril(g, ctx.diagonal, ctx.upper)


class Triu(Tril):
    node_name = "TriuBackward0"


class Diagonal(Op):
    """diag of a matrix: its `offset` diagonal, a new 1-d array."""

    node_name = "DiagonalBackward0_copy"  # NOTE: PyTorch 2.13's name for torch.diag of a matrix
    primitive = "diagonal"
    _n_inputs = 1

    @staticmethod
    def forward(x, offset):
        return x._be.diagonal(x._data, offset)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.shape, ctx.offset = inputs[0]._data.shape, inputs[1]

    @staticmethod
    def formula(ctx, F, g):
        return F.diag_embed(g, ctx.offset, ctx.shape)


class DiagEmbed(Op):
    """diag of a vector: a square matrix with it on the `offset` diagonal (`shape` given)."""

    node_name = "DiagEmbedBackward0"
    primitive = "diag_embed"
    _n_inputs = 1

    @staticmethod
    def forward(v, offset, shape):
        return v._be.diag_embed(v._data, offset, shape)

    @staticmethod
    def setup_context(ctx, inputs, out):
        ctx.offset = inputs[1]

    @staticmethod
    def formula(ctx, F, g):
        return F.diagonal(g, ctx.offset)
