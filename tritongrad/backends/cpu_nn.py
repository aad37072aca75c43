"""NumPy references of the fused nn primitives: layer norm, attention, and the gather / scatter family.

Each function has the signature of its Triton launch wrapper (kernels/layernorm.py, attention.py,
index.py), with NumPy arrays in place of DeviceArrays: this is the CPU backend's code for them and
the readable statement of what the kernels compute. `dim` arguments are non-negative.

NOTE: float16 computes in float32 and float64 in float64, as the kernels do; the statistics of
layer norm (mean, rstd) and attention's logsumexp are float32 (float64 for float64 inputs).
"""
import numpy as np

from .. import _nn_checks as IC


def _acc(dtype):
    return np.float64 if dtype == np.float64 else np.float32


# --- embedding ---------------------------------------------------------------------------------------
def embedding(weight, ids):
    """weight[ids]: rows of weight (V, C) at the integer array ids, of shape ids.shape + (C,)."""
    return index_select(weight, 0, ids.reshape(-1)).reshape(ids.shape + weight.shape[1:])


def embedding_backward(grad, ids, num_weights, padding_idx):
    """(num_weights, C) zeros with each row of grad (ids.shape + (C,)) added at its id (repeats add up);
    ids equal to padding_idx add nothing."""
    out = np.zeros((num_weights,) + grad.shape[ids.ndim:], grad.dtype)
    return index_add_(out, 0, ids.reshape(-1), grad.reshape((ids.size,) + out.shape[1:]), skip=padding_idx,
                      check=False)


# --- layer norm --------------------------------------------------------------------------------------
def layer_norm_fwd(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """y = (x - mean) * rstd * weight + bias over the trailing `normalized_shape` dims.

    Returns (y, mean, rstd): y like x; mean and rstd = 1 / sqrt(biased var + eps) of shape
    x.shape[:-len(normalized_shape)], float32 (float64 for float64 x).
    """
    M, N = IC.check_layer_norm(x.shape, normalized_shape, getattr(weight, "shape", None), getattr(bias, "shape", None))
    lead = x.shape[:x.ndim - len(normalized_shape)]
    xf = x.reshape(M, N).astype(_acc(x.dtype))
    mean = xf.mean(1)
    xc = xf - mean[:, None]
    rstd = 1.0 / np.sqrt((xc * xc).mean(1) + eps)
    y = xc * rstd[:, None]
    if weight is not None:
        y = y * weight.reshape(N).astype(y.dtype)
    if bias is not None:
        y = y + bias.reshape(N).astype(y.dtype)
    return y.astype(x.dtype).reshape(x.shape), mean.reshape(lead), rstd.reshape(lead)


def layer_norm_bwd(dy, x, mean, rstd, weight=None, bias=None):
    """Gradients (dx, dweight, dbias) of layer_norm_fwd; dweight / dbias are None without weight / bias.

    With xhat = (x - mean) * rstd and g = dy * weight, per row of N elements:
        dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  dweight = sum_rows dy * xhat,  dbias = sum_rows dy.
    """
    M = mean.size
    N = x.size // max(M, 1)
    acc = _acc(x.dtype)
    xhat = (x.reshape(M, N).astype(acc) - mean.reshape(M, 1)) * rstd.reshape(M, 1)
    d = dy.reshape(M, N).astype(acc)
    g = d * weight.reshape(N).astype(acc) if weight is not None else d
    dx = rstd.reshape(M, 1) * (g - g.mean(1, keepdims=True) - xhat * (g * xhat).mean(1, keepdims=True))
    dw = (d * xhat).sum(0).astype(weight.dtype).reshape(weight.shape) if weight is not None else None
    db = d.sum(0).astype(bias.dtype).reshape(bias.shape) if bias is not None else None
    return dx.astype(x.dtype).reshape(x.shape), dw, db


# --- attention ---------------------------------------------------------------------------------------
def _scores(q, k, attn_mask, is_causal, scale):
    """Scaled scores q k^T (..., T, S) with the masks applied: -inf where a key is not attended."""
    acc = _acc(q.dtype)
    s = np.matmul(q.astype(acc), np.swapaxes(k.astype(acc), -1, -2)) * acc(scale)
    T, S = s.shape[-2:]
    if is_causal:  # NOTE: PyTorch's is_causal: query i sees keys j <= i (top-left aligned when T != S)
        s = np.where(np.tril(np.ones((T, S), bool)), s, -np.inf)
    if attn_mask is not None:
        if attn_mask.dtype == np.bool_:
            s = np.where(attn_mask, s, -np.inf)
        else:
            s = s + attn_mask.astype(acc)
    return s


def _scale(q, scale):
    return 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale


def attention_fwd(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """softmax(q k^T * scale + mask) v for q (..., T, D), k and v (..., S, D); returns (o, lse).

    attn_mask: bool (True = attend) or additive float, broadcastable to (..., T, S). lse (..., T) is
    the logsumexp of each row of scores (float32; float64 for float64 inputs); a row with no
    attended key gets o = 0 and lse = +inf (PyTorch's SDPA returns 0 there).
    """
    s = _scores(q, k, attn_mask, is_causal, _scale(q, scale))
    m = s.max(-1, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0.0)  # NOTE: rows of only -inf: exp(-inf) = 0, not NaN
    p = np.exp(s - m)
    ell = p.sum(-1, keepdims=True)
    o = np.matmul(p, v.astype(p.dtype)) / np.where(ell == 0, 1, ell)
    with np.errstate(divide="ignore"):
        lse = np.where(ell == 0, np.inf, m + np.log(ell))[..., 0]
    return o.astype(q.dtype), lse


def attention_bwd(do, q, k, v, o, lse, attn_mask=None, is_causal=False, scale=None):
    """(dq, dk, dv) of attention_fwd from the upstream gradient `do`, the output o and its lse.

    p = exp(s - lse) recomputed; dv = p^T do; dp = do v^T; ds = p * (dp - delta) with
    delta = rowsum(do * o); dq = ds k * scale; dk = ds^T q * scale.
    """
    scale = _scale(q, scale)
    s = _scores(q, k, attn_mask, is_causal, scale)
    acc = s.dtype
    p = np.exp(s - lse[..., None])
    dof = do.astype(acc)
    dv = np.matmul(np.swapaxes(p, -1, -2), dof)
    dp = np.matmul(dof, np.swapaxes(v.astype(acc), -1, -2))
    delta = (dof * o.astype(acc)).sum(-1, keepdims=True)
    ds = p * (dp - delta) * acc.type(scale)
    dq = np.matmul(ds, k.astype(acc))
    dk = np.matmul(np.swapaxes(ds, -1, -2), q.astype(acc))
    return dq.astype(q.dtype), dk.astype(k.dtype), dv.astype(v.dtype)


# --- gather / scatter --------------------------------------------------------------------------------
def _checked(op, index, dim, size, wrap, check):
    """`index` as int64 with negatives counted from the end where `wrap`; raises PyTorch's error
    for the first out-of-range value (in index order) when `check`."""
    idx = np.asarray(index)
    idx = idx if idx.dtype == np.int64 else idx.astype(np.int64)  # NOTE: no copy of an int64 index
    if not idx.size:
        return idx
    # NOTE: two C reductions first (an embedding's lookup is always in range); the elementwise search
    # for the first bad value only when there is one
    lo = np.minimum.reduce(idx, None)
    if check and (lo < (-size if wrap else 0) or np.maximum.reduce(idx, None) >= size):
        bad = (idx < (-size if wrap else 0)) | (idx >= size)
        raise IC.out_of_bounds(op, int(idx.reshape(-1)[np.argmax(bad.reshape(-1))]), dim, size, wrap)
    return np.where(idx < 0, idx + size, idx) if wrap and lo < 0 else idx


def _1d(a):
    return a.reshape(1) if a.ndim == 0 else a  # NOTE: a 0-d array is one element along dim 0


def index_select(x, dim, index, wrap=False, check=True):
    """out = x indexed along `dim` by the 0-d or 1-d `index` (out.shape[dim] = index.size).

    `wrap`: negative indices count from the end and errors are advanced indexing's (x[idx]).
    """
    IC.check_dim(dim, x.ndim)
    IC.check_index_dtype("index_select", index.dtype)
    IC.check_index_select(x.ndim, index.shape)
    x1 = _1d(x)
    idx = _checked("index_select", _1d(index), dim, x1.shape[dim], wrap, check)
    out = np.take(x1, idx, axis=dim)
    return out.reshape(()) if x.ndim == 0 else out


def gather(x, dim, index, check=True):
    """torch.gather: out[p] = x[p with its `dim` coordinate replaced by index[p]], out.shape = index.shape."""
    IC.check_gather(x.shape, dim, index.shape)
    IC.check_index_dtype("gather", index.dtype)
    x1, i1 = _1d(x), _1d(index)
    idx = _checked("gather", i1, dim, x1.shape[dim], False, check)
    sl = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(i1.shape))
    return np.take_along_axis(x1[sl], idx, dim).reshape(index.shape)


def _scatter_coords(dim, idx):
    coords = list(np.indices(idx.shape, sparse=True))
    coords[dim] = idx
    return tuple(coords)


def scatter_(out, dim, index, src, reduce=None, check=True):
    """torch.Tensor.scatter_ (reduce=None) / scatter_add_ (reduce='add'), in place on `out`.

    out[p with its `dim` coordinate replaced by index[p]] (+)= src[p] for p over index's shape; with
    repeated indices and reduce=None, which value lands is unspecified (as in PyTorch).
    """
    if reduce not in (None, "add"):
        raise NotImplementedError(f"scatter_ with reduce={reduce!r}: only None and 'add' are implemented")
    IC.check_scatter(out.shape, dim, index.shape, src.shape, out.dtype, src.dtype)
    IC.check_index_dtype("scatter", index.dtype)
    o1, i1, s1 = _1d(out), _1d(index), _1d(src)
    idx = _checked("scatter", i1, dim, o1.shape[dim], False, check)
    vals = s1[tuple(slice(0, n) for n in i1.shape)]
    if reduce == "add":
        np.add.at(o1, _scatter_coords(dim, idx), vals)
    else:
        o1[_scatter_coords(dim, idx)] = vals
    return out


_REDUCE_AT = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def scatter_reduce(a, dim, index, src, reduce, include_self=True, check=True):
    """A copy of `a` with src reduced in at `index` along dim (torch.scatter_reduce): each element is
    reduce(itself if include_self, the src values scattered to it), in index order (ufunc.at), the
    order of the CUDA kernel (kernels/scatter_reduce.py); mean of integers rounds down."""
    IC.check_scatter(a.shape, dim, index.shape, src.shape, a.dtype, src.dtype)
    IC.check_index_dtype("scatter", index.dtype)
    out = a.copy()
    o1, i1, s1 = _1d(out), _1d(index), _1d(src)
    idx = _checked("scatter", i1, dim, o1.shape[dim], False, check)
    coords = _scatter_coords(dim, idx)
    vals = s1[tuple(slice(0, n) for n in i1.shape)]
    if not include_self:  # NOTE: PyTorch's way: the elements scattered to start from the identity
        o1[coords] = _identity(reduce, o1.dtype)
    with np.errstate(invalid="ignore"):  # NOTE: NaN propagates through amax / amin, silently as in PyTorch
        _REDUCE_AT[reduce].at(o1, coords, vals)
    if reduce == "mean":
        count = np.full(o1.shape, int(include_self), np.int64)
        np.add.at(count, coords, 1)
        count = np.maximum(count, 1)
        if o1.dtype.kind == "f":
            np.true_divide(o1, count.astype(o1.dtype), out=o1)
        else:
            np.floor_divide(o1, count, out=o1, casting="unsafe")
    return out


def _identity(reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if dtype.kind == "b":
        return reduce == "amin"
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def index_add_(out, dim, index, src, alpha=1, wrap=False, skip=None, check=True):
    """out.index_add_(dim, index, src, alpha=alpha), in place; repeated indices all add up.

    `skip` (>= 0): entries whose (wrapped) index equals it add nothing (embedding's padding_idx).
    `wrap`: negative indices count from the end, errors as advanced indexing's (index_put_ with
    accumulate=True). Deterministic: np.add.at adds in index order.
    """
    IC.check_index_dtype("index_add_", index.dtype)
    IC.check_vector_index("index_add_", index.shape)
    IC.check_index_add("index_add_", out.shape, dim, index.size, src.shape, out.dtype, src.dtype)
    o1, s1 = _1d(out), _1d(src)
    idx = _checked("index_add_", _1d(index), dim, o1.shape[dim], wrap, check)
    vals = s1 * np.asarray(alpha).astype(s1.dtype) if alpha != 1 else s1
    if skip is not None:
        keep = idx != skip
        idx, vals = idx[keep], np.compress(keep, vals, axis=dim)
    if dim == 0 and o1.ndim > 1 and o1.flags.c_contiguous:
        # NOTE: rows (an embedding's gradient) as flat element indices: NumPy's 1-d add.at is about twice as
        # fast as its row form, and adds in the same order (so the same bits)
        inner = o1[0].size
        flat = (idx[:, None] * inner + np.arange(inner)).reshape(-1)
        np.add.at(o1.reshape(-1), flat, np.ascontiguousarray(vals).reshape(-1))
    else:
        np.add.at(o1, (slice(None),) * dim + (idx,), vals)
    return out


def index_copy_(out, dim, index, src, wrap=False, check=True):
    """out.index_copy_(dim, index, src), in place (repeated indices: one of the values lands)."""
    IC.check_index_dtype("index_copy_", index.dtype)
    IC.check_vector_index("index_copy_", index.shape)
    IC.check_index_add("index_copy_", out.shape, dim, index.size, src.shape, out.dtype, src.dtype)
    o1 = _1d(out)
    idx = _checked("index_copy_", _1d(index), dim, o1.shape[dim], wrap, check)
    o1[(slice(None),) * dim + (idx,)] = _1d(src)
    return out
