"""Op table rows of the transformer layers: embedding, layer norm, scaled dot-product attention.

Each is one fused backend primitive forward and one backward (kernels/index.py, layernorm.py,
attention.py on CUDA; backends/cpu_nn.py, their NumPy references, on the CPU). The backward
primitives return several gradients at once (layer norm's dx, dweight, dbias; attention's dq, dk,
dv). On Tensors (create_graph, hooks) they run as a custom Function (`_FusedBackward`) around the
same primitive, so that both paths give the same bits, and whose own derivative (a second
derivative of the op) is taken by autograd through the op's explicit form: fused kernels for the
first derivative, readable Tensor code for the rare higher ones.

The public functions (tritongrad.nn.functional.embedding, layer_norm, scaled_dot_product_attention)
check their arguments as PyTorch does, then call the rows.
"""
import math

from .. import _args as A, _dtype as dt
from ..autograd.function import Function, once_differentiable
from ..autograd.grad_mode import enable_grad, no_grad
from .table import Op, provides
from .util import check_device


# --- embedding -----------------------------------------------------------------------------------
class Embedding(Op):
    """weight[ids]: rows of weight (V, C) gathered into ids.shape + (C,)."""

    node_name = "EmbeddingBackward0"
    primitive = "embedding"
    _n_inputs = 1

    @staticmethod
    def forward(weight, ids, padding_idx=None, scale_grad_by_freq=False):
        return weight._be.embedding(weight._data, ids._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        weight, ids, padding_idx, by_freq = (list(inputs) + [None, False])[:4]
        ctx.ids, ctx.num_weights, ctx.padding_idx, ctx.count = ids._data, weight.shape[0], padding_idx, None
        if by_freq:  # NOTE: how often each position's id occurs in the batch, (ids.shape + (1,)), weight's dtype
            be, n = weight._be, ids.numel()
            flat = be.view(be.contiguous(ids._data), (n,))
            ones = be.full((n,), 1, weight._dtype)
            counts = be.index_add_(be.full((weight.shape[0],), 0, weight._dtype), 0, flat, ones)
            ctx.count = be.view(be.index_select(counts, 0, flat), tuple(ids.shape) + (1,))

    @staticmethod
    def formula(ctx, F, g):
        if ctx.count is not None:  # scale_grad_by_freq: each row's gradient over its id's frequency
            g = F.div(g, F.const(ctx.count, g))
        return F.embedding_backward(g, F.const(ctx.ids, g), ctx.num_weights, ctx.padding_idx)


class EmbeddingBackward(Op):
    """The scatter-add of embedding's gradient into (V, C) zeros; ids equal to padding_idx add nothing.
    Linear in g: its derivative gathers, with the padding row of the incoming gradient zeroed."""

    node_name = "EmbeddingDenseBackwardBackward0"
    primitive = "embedding_backward"
    _n_inputs = 1

    @staticmethod
    def forward(g, ids, num_weights, padding_idx):
        return g._be.embedding_backward(g._data, ids._data, num_weights, padding_idx)

    @staticmethod
    def setup_context(ctx, inputs, out):
        g, ids, num_weights, padding_idx = inputs
        ctx.ids, ctx.keep = ids._data, None
        if padding_idx is not None:  # NOTE: (V, 1): 1, and 0 on the padding row
            be = g._be
            ctx.keep = be.full((num_weights, 1), 1, g._dtype)
            be.fill_(be.index(ctx.keep, (padding_idx,)), 0)

    @staticmethod
    def formula(ctx, F, gg):
        if ctx.keep is not None:
            gg = F.mul(gg, F.const(ctx.keep, gg))
        return F.embedding(gg, F.const(ctx.ids, gg))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """torch.nn.functional.embedding: the rows of `weight` (V, C) at the int32 / int64 `input`, of shape
    input.shape + (C,). The gradient is a scatter-add (repeated ids add up); ids equal to `padding_idx`
    contribute no gradient."""
    if padding_idx is not None:  # NOTE: PyTorch's order: its Python's padding_idx checks, then its parser's
        if padding_idx > 0:
            assert padding_idx < weight.shape[0], "Padding_idx must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -weight.shape[0], "Padding_idx must be within num_embeddings"
            padding_idx = weight.shape[0] + padding_idx
        if padding_idx.__class__ is not int:
            padding_idx = A.symint(padding_idx, "embedding", "padding_idx", 3)
    A.check_tensor(weight, "embedding", "weight", 1)
    if max_norm is not None and not isinstance(max_norm, (int, float)):
        raise TypeError(f"embedding_renorm_(): argument 'max_norm' (position 3) must be float, not "
                        f"{A.type_name(max_norm)}")
    if sparse:
        raise NotImplementedError("embedding: sparse=True (sparse gradients) is not implemented")
    if input.dtype not in (dt.int64, dt.int32):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.type()} instead (while checking arguments for embedding)")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    check_device(weight, input)
    if max_norm is not None:
        _embedding_renorm_(weight, input, float(max_norm), float(norm_type))
    return Embedding.apply(weight, input, padding_idx, bool(scale_grad_by_freq))


def _embedding_renorm_(weight, ids, max_norm, norm_type):
    """PyTorch's embedding_renorm_, in place and unrecorded: each row of `weight` that `ids` names and
    whose norm exceeds max_norm is scaled by max_norm / (norm + 1e-7) (the scale in float64, then the
    row's dtype, as PyTorch multiplies by a double scalar). Repeated ids write the same row twice."""
    with no_grad():
        flat = ids.reshape(-1)
        rows = weight[flat]
        norms = rows.norm(p=norm_type, dim=1, keepdim=True)
        scale = (max_norm / (norms.double() + 1e-7)).to(weight.dtype)
        weight[flat] = rows.where(norms <= max_norm, rows * scale)


# --- the fused backward primitives on Tensors ----------------------------------------------------------
def _vjp(outs, inputs, grads, create_graph):
    """The gradients of `outs` (None entries skipped) for `grads`, with respect to `inputs` (aligned; None
    for a None input)."""
    from ..autograd import grad

    pairs = [(o, g) for o, g in zip(outs, grads) if o is not None and g is not None]
    live = [x for x in inputs if x is not None]
    if not pairs or not live:
        return tuple(None for _ in inputs)
    got = iter(grad([o for o, _ in pairs], live, [g for _, g in pairs], create_graph=create_graph,
                    allow_unused=True, materialize_grads=True))
    return tuple(None if x is None else next(got) for x in inputs)


class _FusedBackward(Function):
    """A fused backward primitive on Tensors: forward calls it on the arrays (the bits of backward()'s
    path); backward differentiates `first(*args)`, the same first derivative computed by autograd
    through the op's explicit form, once more. Arguments: (name, first, diff, *args): `args` in the
    primitive's order, `diff` the positions of those that get a gradient."""

    @staticmethod
    def forward(ctx, name, first, diff, *args):
        from ..tensor import Tensor  # NOTE: a Tensor from an array, at run time (tensor.py imports the ops)

        outs = getattr(args[0]._be, name)(*[a._data if isinstance(a, Tensor) else a for a in args])
        ctx.first, ctx.diff, ctx.args = first, diff, args
        ctx.save_for_backward(*[args[i] for i in diff])
        return tuple(None if o is None else Tensor._make(o) for o in outs)

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads):
        args = list(ctx.args)
        for i, t in zip(ctx.diff, ctx.saved_tensors):
            args[i] = None if t is None else t.detach().requires_grad_()
        with enable_grad():
            got = _vjp(ctx.first(*args), [args[i] for i in ctx.diff], grads, False)
        out = [None] * (3 + len(args))
        for i, g in zip(ctx.diff, got):
            out[3 + i] = g
        return tuple(out)


# --- layer norm ------------------------------------------------------------------------------------
class LayerNorm(Op):
    """(x - mean) * rstd * weight + bias over the trailing normalized_shape dims; mean and rstd kept
    (float32 for float16 / bfloat16 / float32 x, float64 for float64)."""

    node_name = "NativeLayerNormBackward0"
    _n_inputs = 3

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_shape, eps):  # NOTE: old style: backward reads mean, rstd
        y, mean, rstd = x._be.layer_norm(x._data, normalized_shape, None if weight is None else weight._data,
                                         None if bias is None else bias._data, eps)
        ctx.save_for_backward(x, weight, bias)
        ctx.mean, ctx.rstd, ctx.eps = mean, rstd, eps
        return y

    @staticmethod
    def formula(ctx, F, g):
        x, w, b = F.saved(ctx)
        grads = F.layer_norm_backward(g, x, F.const(ctx.mean, g), F.const(ctx.rstd, g), w, b, ctx.eps)
        return tuple(d if need else None for d, need in zip(grads, ctx.needs_input_grad))


def _layer_norm_explicit(x, ndim, weight, bias, eps):
    dims = tuple(range(x.ndim - ndim, x.ndim))
    xc = x - x.mean(dims, keepdim=True)
    y = xc * ((xc * xc).mean(dims, keepdim=True) + eps).sqrt().reciprocal()
    y = y * weight if weight is not None else y
    return y + bias if bias is not None else y


def _layer_norm_first(g, x, mean, rstd, weight, bias, eps):
    inputs = (x, weight, bias)
    return _vjp([_layer_norm_explicit(x, x.ndim - mean.ndim, weight, bias, eps)], inputs, [g], True)


def _layer_norm_backward_t(g, x, mean, rstd, weight, bias, eps):
    return _FusedBackward.apply("layer_norm_backward", _layer_norm_first, (0, 1, 4, 5), g, x, mean, rstd, weight,
                                bias, eps)


provides("layer_norm_backward", _layer_norm_backward_t)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """torch.nn.functional.layer_norm: normalize over the trailing `normalized_shape` dims, then scale by
    `weight` and shift by `bias` (each optional, of shape normalized_shape). Statistics in float32 for
    float16 / bfloat16 / float32 inputs (float64 for float64)."""
    from .._nn_checks import check_layer_norm

    if normalized_shape.__class__ is not tuple:
        if isinstance(normalized_shape, (int, A.TensorBase)):  # NOTE: PyTorch's parser takes a sequence only
            raise TypeError("layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not "
                            + A.type_name(normalized_shape))
        normalized_shape = A.int_list(normalized_shape, "layer_norm", "normalized_shape", 2)
    for pos, name, t in ((3, "weight", weight), (4, "bias", bias)):
        if t is not None:
            A.check_tensor(t, "layer_norm", name, pos)
    if eps.__class__ is not float:
        if not isinstance(eps, (int, float)) and not (isinstance(eps, A.TensorBase) and not eps.ndim):
            raise TypeError(f"layer_norm(): argument 'eps' (position 5) must be float, not {A.type_name(eps)}")
        eps = float(eps)
    check_layer_norm(tuple(input.shape), normalized_shape, None if weight is None else tuple(weight.shape),
                     None if bias is None else tuple(bias.shape))
    if not input.dtype.is_floating_point:
        from .inplace import _SCALAR_NAMES

        raise RuntimeError(f'"LayerNormKernelImpl" not implemented for \'{_SCALAR_NAMES[input._dtype.name]}\'')
    for t in (weight, bias):
        if t is not None:
            check_device(input, t)
    return LayerNorm.apply(input, weight, bias, normalized_shape, eps)


# --- scaled dot-product attention ------------------------------------------------------------------
class Attention(Op):
    """softmax(q k^T * scale + mask) v, fused (flash attention on CUDA); the logsumexp kept."""

    node_name = "ScaledDotProductFlashAttentionBackward0"
    _n_inputs = 3
    _save_output = True

    @staticmethod
    def forward(ctx, q, k, v, mask, is_causal, scale):  # NOTE: old style: backward reads the logsumexp
        o, lse = q._be.attention(q._data, k._data, v._data, None if mask is None else mask._data, is_causal, scale)
        ctx.save_for_backward(q, k, v)
        ctx.lse, ctx.mask, ctx.is_causal, ctx.scale = lse, None if mask is None else mask._data, is_causal, scale
        return o

    @staticmethod
    def formula(ctx, F, g):
        q, k, v, o = F.saved(ctx)
        mask = None if ctx.mask is None else F.const(ctx.mask, g)
        grads = F.attention_backward(g, q, k, v, o, F.const(ctx.lse, g), mask, ctx.is_causal, ctx.scale)
        return tuple(d if need else None for d, need in zip(grads, ctx.needs_input_grad))


def _attention_explicit(q, k, v, attn_mask, dropout_p, is_causal, scale):
    """The math form (PyTorch's math backend): matmul, masked softmax, dropout, matmul."""
    from .. import _creation as C
    from ..functional import where
    from ..nn.functional import dropout, softmax

    s = q.matmul(k.transpose(-2, -1)) * scale
    if is_causal:
        rows = C.arange(q.shape[-2], device=q.device).unsqueeze(1)
        s = where(rows >= C.arange(k.shape[-2], device=q.device), s, -math.inf)
    if attn_mask is not None:
        s = where(attn_mask, s, -math.inf) if attn_mask.dtype is dt.bool_ else s + attn_mask
    p = softmax(s, -1)
    if dropout_p > 0:
        p = dropout(p, dropout_p, True)
    return p.matmul(v)


def _attention_first(g, q, k, v, o, lse, mask, is_causal, scale):
    return _vjp([_attention_explicit(q, k, v, mask, 0.0, is_causal, scale)], (q, k, v), [g], True)


def _attention_backward_t(g, q, k, v, o, lse, mask, is_causal, scale):
    return _FusedBackward.apply("attention_backward", _attention_first, (0, 1, 2, 3), g, q, k, v, o, lse, mask,
                                is_causal, scale)


provides("attention_backward", _attention_backward_t)


def _fused_unsupported(q, k, v, attn_mask, dropout_p):
    """Why the fused primitive does not take this call (then the explicit form runs), or None."""
    if dropout_p > 0:
        return "dropout"
    if attn_mask is not None and attn_mask.requires_grad:
        return "an attn_mask that requires grad"
    if not (q.dtype is k.dtype is v.dtype) or q.ndim < 2 or not (q.ndim == k.ndim == v.ndim):
        return "dtypes or ranks differ"
    if q.shape[:-2] != k.shape[:-2] or q.shape[:-2] != v.shape[:-2] or not (q.shape[-1] == k.shape[-1] == v.shape[-1]):
        return "leading dims or head dims differ (broadcasting)"
    if k.shape[-2] != v.shape[-2]:
        return "k and v lengths differ"
    if attn_mask is not None:
        from .util import broadcast_shapes

        target = tuple(q.shape[:-1]) + (k.shape[-2],)
        try:
            if broadcast_shapes(tuple(attn_mask.shape), target) != target:
                return "attn_mask does not broadcast to (..., L, S)"
        except RuntimeError:
            return "attn_mask does not broadcast to (..., L, S)"
    return q._be.attention_unsupported(q._data, k._data, v._data, None if attn_mask is None else attn_mask._data)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """torch.nn.functional.scaled_dot_product_attention: softmax(q k^T * scale + mask) v for query (..., L, E),
    key (..., S, E), value (..., S, Ev); attn_mask bool (True: attend) or added to the scores; is_causal:
    query i sees keys j <= i; scale defaults to 1 / sqrt(E). Fused (flash attention on CUDA, its NumPy
    reference on the CPU) where it applies; else the explicit form (matmul, masked softmax, matmul), e.g.
    with dropout_p > 0 or broadcasting between query and key / value."""
    _check_attention_args(query, key, value, attn_mask, dropout_p, is_causal, scale)
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa=True is not implemented")
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{_c_name(query)} key.dtype: {_c_name(key)} and value.dtype: {_c_name(value)} instead.")
    if not query.dtype.is_floating_point:
        raise RuntimeError(f"Expected query to be floating point, got {query.dtype}")
    check_device(query, key)
    check_device(query, value)
    if attn_mask is not None:
        check_device(query, attn_mask)
        if attn_mask.dtype is not dt.bool_ and not attn_mask.dtype.is_floating_point:
            raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                               f"attn_mask.dtype: {_c_name(attn_mask)} and  query.dtype: {_c_name(query)} instead.")
        if is_causal:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError("scaled_dot_product_attention: query, key and value must have at least 2 dims")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    if _fused_unsupported(query, key, value, attn_mask, dropout_p) is None:
        return Attention.apply(query, key, value, attn_mask, bool(is_causal), scale)
    return _attention_explicit(query, key, value, attn_mask, dropout_p, is_causal, scale)


def _c_name(t):
    """PyTorch's C++ name of a dtype in its messages (float, double, c10::Half, long int, ...)."""
    return {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool"}.get(t.dtype.name, t.dtype.name)


def _check_attention_args(query, key, value, attn_mask, dropout_p, is_causal, scale):
    """The types PyTorch's parser takes: tensors, a tensor or None as mask, numbers, a bool."""
    fn = "scaled_dot_product_attention"
    for pos, name, t in ((1, "query", query), (2, "key", key), (3, "value", value)):
        A.check_tensor(t, fn, name, pos)
    if attn_mask is not None:
        A.check_tensor(attn_mask, fn, "attn_mask", 4)
    if not isinstance(dropout_p, (int, float)):
        raise TypeError(f"{fn}(): argument 'dropout_p' (position 5) must be float, not {A.type_name(dropout_p)}")
    if is_causal.__class__ is not bool:
        A.check_bool(is_causal, fn, "is_causal", 6)
    if scale is not None and not isinstance(scale, (int, float)):
        raise TypeError(f"{fn}(): argument 'scale' must be float, not {A.type_name(scale)}")
