"""The transformer layers through the op table (tritongrad/ops/nn.py): F.embedding / nn.Embedding,
F.layer_norm / nn.LayerNorm, nn.GELU, F.scaled_dot_product_attention, on both devices, values and
gradients against PyTorch (float64 finite differences: tests/test_formulas.py), grad_fn names,
PyTorch's errors, and the attention's fallback to the explicit form."""
import numpy as np
import pytest
from helpers import TOL

import tritongrad as tg
import tritongrad.nn.functional as F
from tritongrad import nn


def _pair(torch, rng, shape, device, dtype=tg.float64, scale=1.0):
    a = rng.standard_normal(shape) * scale
    return (tg.tensor(a, dtype=dtype, device=device, requires_grad=True),
            torch.tensor(a, dtype=getattr(torch, dtype.name), requires_grad=True))


def _close(ours, theirs, dtype="float64"):
    np.testing.assert_allclose(ours.detach().cpu().double().numpy(), theirs.detach().double().numpy(), **TOL[dtype])


def _backward(torch, rng, ours, theirs):
    g = rng.standard_normal(tuple(ours.shape))
    ours.backward(tg.tensor(g, dtype=ours.dtype, device=ours.device))
    theirs.backward(torch.tensor(g, dtype=theirs.dtype))


# --- embedding -------------------------------------------------------------------------------------
@pytest.mark.parametrize("ids_shape,padding_idx", [((33,), None), ((3, 5), 2), ((2, 1, 4), -1)])
def test_embedding_matches_pytorch_with_repeated_ids_and_padding(device, torch, rng, ids_shape, padding_idx):
    w, wt = _pair(torch, rng, (7, 5), device)
    ids = rng.integers(0, 7, ids_shape)
    ids.reshape(-1)[:3] = 2  # NOTE: repeats, and the padding row (2, or 6 = -1) for some cases
    out = F.embedding(tg.tensor(ids, device=device), w, padding_idx=padding_idx)
    ref = torch.nn.functional.embedding(torch.tensor(ids), wt, padding_idx=padding_idx)
    assert type(out.grad_fn).__name__ == type(ref.grad_fn).__name__ == "EmbeddingBackward0"
    _close(out, ref)
    _backward(torch, rng, out, ref)
    _close(w.grad, wt.grad)


def test_embedding_int32_ids_and_errors(device, torch):
    w = tg.randn(4, 3, device=device)
    ids = tg.tensor([[3, 0]], dtype=tg.int32, device=device)
    np.testing.assert_array_equal(F.embedding(ids, w).cpu().numpy(), w.cpu().numpy()[[[3, 0]]])
    for bad, err, msg in [(tg.tensor([1.0], device=device), RuntimeError, "Expected tensor for argument #1 'indices'"),
                          (tg.tensor([4], device=device), IndexError, "index out of range in self"),
                          (tg.tensor([-1], device=device), IndexError, "index out of range in self")]:
        with pytest.raises(err, match=msg):
            F.embedding(bad, w)
        with pytest.raises(err, match=msg):
            torch.nn.functional.embedding(torch.tensor(bad.cpu().numpy()), torch.randn(4, 3))
    with pytest.raises(NotImplementedError, match="sparse=True"):
        F.embedding(ids, w, sparse=True)


@pytest.mark.parametrize("padding_idx", [None, 3])
def test_embedding_scale_grad_by_freq_matches_pytorch(device, torch, rng, padding_idx):
    w, wt = _pair(torch, rng, (7, 5), device)
    ids = np.array([[1, 3, 3, 3], [6, 1, 0, 2]])
    out = F.embedding(tg.tensor(ids, device=device), w, padding_idx=padding_idx, scale_grad_by_freq=True)
    ref = torch.nn.functional.embedding(torch.tensor(ids), wt, padding_idx=padding_idx, scale_grad_by_freq=True)
    _close(out, ref)
    _backward(torch, rng, out, ref)
    _close(w.grad, wt.grad)


@pytest.mark.parametrize("norm_type,max_norm", [(2.0, 1.5), (1.0, 2.0), (3.0, 0.5), (float("inf"), 1.0)])
def test_embedding_max_norm_renormalizes_the_rows_it_reads_in_place(device, torch, rng, norm_type, max_norm):
    """PyTorch's embedding_renorm_: rows named by ids whose norm exceeds max_norm are scaled in place (once,
    however often they repeat), before the lookup; the gradient is the plain embedding's."""
    w, wt = _pair(torch, rng, (10, 4), device)
    ids = np.array([[1, 3, 3], [9, 0, 1]])
    out = F.embedding(tg.tensor(ids, device=device), w, max_norm=max_norm, norm_type=norm_type)
    ref = torch.nn.functional.embedding(torch.tensor(ids), wt, max_norm=max_norm, norm_type=norm_type)
    _close(w, wt)
    assert w._version == wt._version == 1
    _close(out, ref)
    _backward(torch, rng, out, ref)
    _close(w.grad, wt.grad)
    emb = nn.Embedding(10, 3, max_norm=1.0, device=device)
    looked_up = emb(tg.tensor([1, 2, 2], device=device)).norm(dim=1).detach().cpu().numpy()
    assert (looked_up <= 1.0 + 1e-6).all()


def test_embedding_module_zeroes_the_padding_row_and_never_updates_it(device):
    emb = nn.Embedding(6, 4, padding_idx=-2, device=device)
    assert emb.padding_idx == 4 and repr(emb) == "Embedding(6, 4, padding_idx=4)"
    np.testing.assert_array_equal(emb.weight[4].detach().cpu().numpy(), 0)
    emb(tg.tensor([[4, 1, 4]], device=device)).sum().backward()
    grad = emb.weight.grad.cpu().numpy()
    np.testing.assert_array_equal(grad[4], 0)
    np.testing.assert_array_equal(grad[1], 1)


# --- layer norm ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,ns,affine,bias", [((97,), (97,), True, True), ((33, 65), (65,), True, False),
                                                  ((2, 3, 4), (3, 4), False, False), ((5, 1, 7), 7, True, True)])
def test_layer_norm_matches_pytorch(device, torch, rng, shape, ns, affine, bias):
    x, xt = _pair(torch, rng, shape, device, scale=3.0)
    ln, lnt = nn.LayerNorm(ns, eps=1e-4, elementwise_affine=affine, bias=bias, device=device, dtype=tg.float64), \
        torch.nn.LayerNorm(ns, eps=1e-4, elementwise_affine=affine, bias=bias, dtype=torch.float64)
    assert [n for n, _ in ln.named_parameters()] == [n for n, _ in lnt.named_parameters()]
    with tg.no_grad():
        for (_, p), (_, pt) in zip(ln.named_parameters(), lnt.named_parameters()):
            v = rng.standard_normal(tuple(p.shape))
            p.copy_(tg.tensor(v, device=device))
            pt.data = torch.tensor(v)
    out, ref = ln(x), lnt(xt)
    assert type(out.grad_fn).__name__ == type(ref.grad_fn).__name__ == "NativeLayerNormBackward0"
    _close(out, ref)
    _backward(torch, rng, out, ref)
    _close(x.grad, xt.grad)
    for p, pt in zip(ln.parameters(), lnt.parameters()):
        _close(p.grad, pt.grad)
    assert repr(ln) == repr(lnt).replace("torch", "tritongrad")


def test_layer_norm_half_precision_keeps_float32_statistics(device, torch, rng):
    """A float16 input normalizes as PyTorch's float32 computation rounded once (not a float16 mean)."""
    a = rng.standard_normal((6, 33)) * 4 + 100  # NOTE: a large mean: float16 statistics would lose it
    w = rng.standard_normal(33)
    x = tg.tensor(a, dtype=tg.float16, device=device, requires_grad=True)
    wt = tg.tensor(w, dtype=tg.float16, device=device, requires_grad=True)
    out = F.layer_norm(x, (33,), wt)
    xr = torch.tensor(a, dtype=torch.float16).float().requires_grad_()
    wr = torch.tensor(w, dtype=torch.float16).float().requires_grad_()
    ref = torch.nn.functional.layer_norm(xr, (33,), wr)
    assert out.dtype is tg.float16
    np.testing.assert_allclose(out.detach().cpu().float().numpy(), ref.detach().half().float().numpy(), atol=4e-3)
    g = rng.standard_normal((6, 33))
    out.backward(tg.tensor(g, dtype=tg.float16, device=device))
    ref.backward(torch.tensor(g, dtype=torch.float16).float())
    np.testing.assert_allclose(x.grad.cpu().float().numpy(), xr.grad.numpy(), **TOL["float16"])
    np.testing.assert_allclose(wt.grad.cpu().float().numpy(), wr.grad.numpy(), rtol=1e-2, atol=5e-2)


def test_layer_norm_errors(device, torch):
    x = tg.randn(2, 5, device=device)
    for args in [((4,),), ((5,), tg.ones(4, device=device))]:
        with pytest.raises(RuntimeError) as ours:
            F.layer_norm(x, *args)
        targs = [torch.ones(4) if isinstance(a, tg.Tensor) else a for a in args]
        with pytest.raises(RuntimeError) as theirs:
            torch.nn.functional.layer_norm(torch.randn(2, 5), *targs)
        assert str(ours.value) == str(theirs.value)


# --- GELU ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_module_matches_pytorch(device, torch, rng, approximate):
    x, xt = _pair(torch, rng, (33, 5), device, scale=2.0)
    m = nn.GELU(approximate)
    out, ref = m(x), torch.nn.GELU(approximate)(xt)
    assert repr(m) == repr(torch.nn.GELU(approximate))
    _close(out, ref)
    _backward(torch, rng, out, ref)
    _close(x.grad, xt.grad)


# --- scaled dot-product attention ----------------------------------------------------------------------
def _mask(rng, shape, kind):
    if kind == "bool":
        m = rng.random(shape) > 0.3
        m[..., 0] = True  # NOTE: every query attends to some key (a row of -inf is NaN in PyTorch's math form)
        return m
    return rng.standard_normal(shape)


@pytest.mark.parametrize("q_shape,kv_shape,mask,causal,scale", [
    ((2, 3, 17, 16), (2, 3, 17, 16), None, True, None),
    ((1, 2, 5, 8), (1, 2, 9, 8), None, True, 0.3),  # NOTE: causal with T != S: top-left aligned
    ((2, 7, 8), (2, 11, 8), "bool", False, None),  # a (T, S) mask broadcast over the batch
    ((2, 2, 6, 4), (2, 2, 6, 4), "float", False, None),
    ((2, 2, 6, 4), (1, 2, 6, 4), "bool", False, None),  # NOTE: k, v broadcast: the explicit form
])
def test_attention_matches_pytorch(device, torch, rng, q_shape, kv_shape, mask, causal, scale):
    q, qt = _pair(torch, rng, q_shape, device)
    k, kt = _pair(torch, rng, kv_shape, device)
    v, vt = _pair(torch, rng, kv_shape, device)
    m = None if mask is None else _mask(rng, (q_shape[-2], kv_shape[-2]), mask)
    out = F.scaled_dot_product_attention(q, k, v, None if m is None else tg.tensor(m, device=device),
                                         is_causal=causal, scale=scale)
    ref = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, None if m is None else torch.tensor(m),
                                                           is_causal=causal, scale=scale)
    fused = q_shape[:-2] == kv_shape[:-2]
    assert (type(out.grad_fn).__name__ == "ScaledDotProductFlashAttentionBackward0") == fused
    _close(out, ref)
    _backward(torch, rng, out, ref)
    for a, b in [(q, qt), (k, kt), (v, vt)]:
        _close(a.grad, b.grad)


def test_attention_falls_back_for_dropout_and_a_mask_that_requires_grad(device, torch, rng):
    q, qt = _pair(torch, rng, (2, 5, 8), device)
    m, mt = _pair(torch, rng, (5, 5), device)
    out = F.scaled_dot_product_attention(q, q, q, m)
    ref = torch.nn.functional.scaled_dot_product_attention(qt, qt, qt, mt)
    _close(out, ref)
    _backward(torch, rng, out, ref)
    _close(m.grad, mt.grad)
    _close(q.grad, qt.grad)
    tg.manual_seed(0)
    dropped = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    kept = F.scaled_dot_product_attention(q, q, q)
    assert dropped.shape == kept.shape and not np.allclose(dropped.detach().cpu().numpy(), kept.detach().cpu().numpy())
    dropped.sum().backward()  # NOTE: differentiable through the dropout mask


def test_attention_errors(device, torch):
    q = tg.randn(2, 3, 4, device=device)
    cases = [((q, q, q.double()), {}), ((q, q, q, tg.ones(3, 3, device=device)), {"is_causal": True}),
             ((q, q, q, tg.ones(3, 3, dtype=tg.int64, device=device)), {})]
    for args, kwargs in cases:
        with pytest.raises(RuntimeError) as ours:
            F.scaled_dot_product_attention(*args, **kwargs)
        targs = [torch.tensor(a.cpu().numpy()) for a in args]
        with pytest.raises(RuntimeError) as theirs:
            torch.nn.functional.scaled_dot_product_attention(*targs, **kwargs)
        assert str(ours.value) == str(theirs.value)


def test_double_backward_through_the_fused_ops_matches_pytorch(torch, rng):
    """create_graph through the fused backwards (their derivative: autograd of the explicit form); on the CPU
    (tests/test_formulas.py runs these rows' second derivatives on both devices)."""
    device = "cpu"
    x, xt = _pair(torch, rng, (3, 6), device)
    w, wt = _pair(torch, rng, (6,), device)
    q, qt = _pair(torch, rng, (2, 4, 8), device)
    grads = []
    for lib, a, b, c, Fn in [(tg, x, w, q, F), (torch, xt, wt, qt, torch.nn.functional)]:
        y = ((Fn.layer_norm(a, (6,), b) ** 2).sum()
             + (Fn.scaled_dot_product_attention(c, c, c, is_causal=True) ** 3).sum())
        g = lib.autograd.grad(y, (a, b, c), create_graph=True)
        grads.append(lib.autograd.grad(sum((t * t).sum() for t in g), (a, b, c)))
    for ours, theirs in zip(*grads):
        _close(ours, theirs)
