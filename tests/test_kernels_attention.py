"""kernels/attention.py (flash attention forward and backward) against the NumPy reference
(backends/cpu_nn.py) and PyTorch's scaled_dot_product_attention, and the reference's backward against
float64 finite differences. Runs under Triton's interpreter:
TRITONGRAD_EMULATE_CUDA=1 python -m pytest tests/test_kernels_attention.py
"""
import numpy as np
import pytest
from nn_kernel_helpers import back, close, dev, finite_diff, host, ref_dtype

import tritongrad.cuda
from tritongrad import _dtype as D
from tritongrad.backends import cpu_nn as R

CUDA = tritongrad.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
# (lead dims, T, S, D): several query and key blocks under the interpreter (blocks of 64), T != S,
# head dims that are not powers of two, one query, 3-d inputs
SHAPES = [((1, 2), 70, 70, 16), ((2, 1), 19, 45, 24), ((1, 1), 45, 19, 64), ((2,), 1, 33, 32), ((1, 1), 130, 9, 8)]


def _qkv(rng, lead, T, S, Dh, dtype):
    return (host(rng, lead + (T, Dh), dtype), host(rng, lead + (S, Dh), dtype), host(rng, lead + (S, Dh), dtype),
            host(rng, lead + (T, Dh), dtype))


def _kernel(q, k, v, do, dtype, mask=None, causal=False, scale=None, views=None):
    from tritongrad.kernels import attention as K
    arrs = views or [dev(a, dtype) for a in (q, k, v, do)]
    m = None if mask is None else dev(mask)
    o, lse = K.attention_fwd(*arrs[:3], m, causal, scale)
    return (o, lse) + K.attention_bwd(arrs[3], *arrs[:3], o, lse, m, causal, scale)


def _reference(q, k, v, do, dtype, mask=None, causal=False, scale=None):
    q, k, v, do = (ref_dtype(a, dtype) for a in (q, k, v, do))
    o, lse = R.attention_fwd(q, k, v, mask, causal, scale)
    return (o, lse) + R.attention_bwd(do, q, k, v, o, lse, mask, causal, scale)


def _compare(got, ref, dtype, T):
    stat = D.float64 if dtype is D.float64 else D.float32
    for g, e, dt in zip(got, ref, (dtype, stat, dtype, dtype, dtype)):
        assert g.dtype is dt
        close(g, e, dt, scale=max(1.0, np.sqrt(T) / 4))


@needs_cuda
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [D.float32, D.float64], ids=str)
def test_kernel_matches_reference(rng, shape, causal, dtype):
    lead, T, S, Dh = shape
    q, k, v, do = _qkv(rng, lead, T, S, Dh, dtype)
    scale = 0.3 if Dh == 24 else None
    _compare(_kernel(q, k, v, do, dtype, causal=causal, scale=scale),
             _reference(q, k, v, do, dtype, causal=causal, scale=scale), dtype, T)


@needs_cuda
@pytest.mark.parametrize("blocks", [(32, 16), (16, 32)], ids=str)
def test_causal_with_unequal_blocks(rng, monkeypatch, blocks):
    """BLOCK_M != BLOCK_N (as on the GPU: 128 x 64): the split into unmasked and diagonal blocks."""
    from tritongrad.kernels import attention as K
    monkeypatch.setattr(K, "_blocks", lambda *a: (*blocks, 4, 1))
    for lead, T, S in [((1, 2), 70, 70), ((1, 1), 45, 19), ((1, 1), 19, 45)]:
        q, k, v, do = _qkv(rng, lead, T, S, 16, D.float32)
        _compare(_kernel(q, k, v, do, D.float32, causal=True), _reference(q, k, v, do, D.float32, causal=True),
                 D.float32, T)


@needs_cuda
@pytest.mark.parametrize("dtype", [D.float16, D.bfloat16], ids=str)
def test_half_types(rng, dtype):
    q, k, v, do = _qkv(rng, (1, 2), 40, 40, 32, dtype)
    _compare(_kernel(q, k, v, do, dtype, causal=True), _reference(q, k, v, do, dtype, causal=True), dtype, 40)


@needs_cuda
@pytest.mark.parametrize("kind", ["bool", "additive"])
def test_masks(rng, kind):
    """A bool mask broadcast over batch and heads with a fully masked row (o = 0, no NaN), or an
    additive mask broadcast over the batch, combined with is_causal."""
    q, k, v, do = _qkv(rng, (2, 2), 21, 37, 16, D.float32)
    if kind == "bool":
        mask = rng.random((21, 37)) < 0.7
        mask[3] = False
    else:
        mask = (rng.standard_normal((1, 2, 21, 37)) * 2).astype(np.float32)
        mask[0, 1, :, 5] = -np.inf
    for causal in (False, True):
        got = _kernel(q, k, v, do, D.float32, mask, causal)
        ref = _reference(q, k, v, do, D.float32, mask, causal)
        if kind == "bool":
            assert np.all(back(got[0])[:, :, 3] == 0) and np.all(back(got[2])[:, :, 3] == 0)
        _compare(got, ref, D.float32, 21)


@needs_cuda
def test_strided_views(rng):
    """q, k, v as head-split views of one (B, T, 3, H, D) buffer (the layout a GPT's qkv projection
    gives), and a transposed upstream gradient: no copies are needed."""
    from tritongrad.kernels import attention as K
    B, T, H, Dh = 2, 23, 3, 16
    qkv = host(rng, (B, T, 3, H, Dh), D.float32)
    do_t = host(rng, (B, H, Dh, T), D.float32)  # do = do_t.swapaxes(-1, -2)
    buf = dev(qkv)
    views = [buf.index((slice(None), slice(None), i)).permute((0, 2, 1, 3)) for i in range(3)]
    views.append(dev(do_t).permute((0, 1, 3, 2)))
    assert not views[0].is_contiguous() and not views[3].is_contiguous()
    q, k, v = (np.ascontiguousarray(qkv[:, :, i].transpose(0, 2, 1, 3)) for i in range(3))
    do = np.ascontiguousarray(do_t.swapaxes(-1, -2))
    _compare(_kernel(q, k, v, do, D.float32, causal=True, views=views),
             _reference(q, k, v, do, D.float32, causal=True), D.float32, T)
    assert K.unsupported(*views[:3]) is None


@needs_cuda
def test_empty_sequences(rng):
    """No query (T = 0): empty outputs, zero dk, dv; no key (S = 0): o = 0 and lse = +inf, as the reference."""
    for T, S in [(0, 5), (4, 0)]:
        q, k, v, do = _qkv(rng, (1, 2), T, S, 16, D.float32)
        got = _kernel(q, k, v, do, D.float32)
        for g, e in zip(got, _reference(q, k, v, do, D.float32)):
            np.testing.assert_array_equal(back(g), e)


@needs_cuda
def test_unsupported_inputs_say_why():
    from tritongrad.kernels import attention as K
    a = lambda *s: dev(np.ones(s, np.float32))  # noqa: E731
    assert "head dims" in K.unsupported(a(1, 4, 8), a(1, 4, 8), a(1, 4, 16))
    assert "broadcasting" in K.unsupported(a(2, 4, 8), a(1, 4, 8), a(1, 4, 8))
    assert "head dim 512" in K.unsupported(a(1, 4, 512), a(1, 4, 512), a(1, 4, 512))
    assert "attn_mask" in K.unsupported(a(1, 4, 8), a(1, 5, 8), a(1, 5, 8), dev(np.ones((4, 4), np.int64)))
    assert "does not broadcast" in K.unsupported(a(1, 4, 8), a(1, 5, 8), a(1, 5, 8), a(2, 1, 4, 5))
    with pytest.raises(NotImplementedError, match="explicit form"):
        K.attention_fwd(a(1, 4, 8), a(1, 4, 8), a(1, 4, 16))


@pytest.mark.parametrize("causal,masked", [(False, False), (True, False), (False, True)])
def test_reference_backward_finite_differences(rng, causal, masked):
    q, k, v, do = _qkv(rng, (2,), 5, 6, 3, D.float64)
    mask = None
    if masked:
        mask = rng.standard_normal((5, 6))
        mask[1, 2] = -np.inf
    o, lse = R.attention_fwd(q, k, v, mask, causal, 0.7)
    got = R.attention_bwd(do, q, k, v, o, lse, mask, causal, 0.7)
    num = finite_diff(lambda *a: R.attention_fwd(*a, mask, causal, 0.7)[0], [q, k, v], do)
    for g, e in zip(got, num):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
    lse_ref = np.log(np.exp(R._scores(q, k, mask, causal, 0.7)).sum(-1))
    np.testing.assert_allclose(lse, lse_ref, rtol=1e-12)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=needs_cuda)])
@pytest.mark.parametrize("case", ["causal", "bool", "additive"])
def test_against_torch(torch, rng, device, case):
    lead, T, S, Dh = (2, 3), 33, 33 if case == "causal" else 17, 16
    q, k, v, do = _qkv(rng, lead, T, S, Dh, D.float64)
    mask = {"causal": None, "bool": rng.random((T, S)) < 0.6, "additive": rng.standard_normal((1, 3, T, S))}[case]
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    to = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=None if mask is None else torch.tensor(mask), is_causal=case == "causal")
    to.backward(torch.tensor(do))
    if device == "cuda":
        got = [back(a) for a in _kernel(q, k, v, do, D.float64, mask, case == "causal")]
    else:
        got = _reference(q, k, v, do, D.float64, mask, case == "causal")
    for g, t in zip(got[:1] + got[2:], (to, tq.grad, tk.grad, tv.grad)):
        np.testing.assert_allclose(g, t.detach().numpy(), rtol=1e-9, atol=1e-10)


def test_float_types_on_cpu(rng):
    """The CPU reference computes float16 in float32 and returns float16; lse is float32."""
    q, k, v, do = _qkv(rng, (1,), 9, 9, 8, D.float16)
    o, lse = R.attention_fwd(q, k, v, None, True)
    assert o.dtype == np.float16 and lse.dtype == np.float32
    ref = R.attention_fwd(*(a.astype(np.float64) for a in (q, k, v)), None, True)[0]
    np.testing.assert_allclose(o.astype(np.float64), ref, rtol=1e-2, atol=1e-3)
    assert all(g.dtype == np.float16 for g in R.attention_bwd(do, q, k, v, o, lse, None, True))

