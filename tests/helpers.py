"""Test helpers: float64 central finite differences and tolerances per dtype."""
import numpy as np
import pytest

import tritongrad as tg

TOL = {"float64": dict(atol=1e-7, rtol=1e-6), "float32": dict(atol=1e-5, rtol=1e-4),
       "float16": dict(atol=1e-2, rtol=1e-2), "bfloat16": dict(atol=5e-2, rtol=5e-2)}


def randn(rng, shape, device="cpu", dtype=tg.float64, requires_grad=True, positive=False, away_from=None):
    """Fresh random data (never zeros): normal, or uniform in [0.5, 2] when positive; values within 0.05
    of `away_from` (e.g. a kink) are pushed off it."""
    a = rng.uniform(0.5, 2.0, size=shape) if positive else rng.standard_normal(size=shape)
    if away_from is not None:
        near = np.abs(a - away_from) < 0.05
        a[near] += 0.1
    return tg.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad)


def numeric_grads(fn, inputs, eps=1e-6):
    """d(sum(fn(*inputs) * w))/d(input) by central differences in float64, for a fixed random w."""
    arrays = [t.detach().cpu().numpy().astype(np.float64) for t in inputs]
    out = fn(*[tg.tensor(a) for a in arrays])
    w = np.random.default_rng(7).standard_normal(out.shape)
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + eps
            plus = (fn(*[tg.tensor(x) for x in arrays]).numpy() * w).sum()
            a[idx] = old - eps
            minus = (fn(*[tg.tensor(x) for x in arrays]).numpy() * w).sum()
            a[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads, w


def check_grad(fn, inputs, atol=1e-5, rtol=1e-4):
    """Autograd's gradients of fn at `inputs` (tensors that require grad) against finite differences."""
    expected, w = numeric_grads(fn, inputs)
    out = fn(*inputs)
    out.backward(tg.tensor(w, dtype=out.dtype, device=out.device))
    for t, e in zip(inputs, expected):
        assert t.grad is not None, "no gradient reached an input"
        np.testing.assert_allclose(t.grad.cpu().numpy(), e, atol=atol, rtol=rtol)


# Python parameters of each fused elementwise backward primitive (after g and x), for tests that run
# every row of the primitive list: a new "backward" row needs its entry here.
BACKWARD_PARAMS = {"threshold_backward": (0.0,), "clamp_backward": (-0.5, 0.7), "pow_backward": (3,),
                   "sigmoid_backward": (), "tanh_backward": (), "gelu_backward": (), "gelu_tanh_backward": ()}


class _CUDABackend:
    """tritongrad's CUDA backend (an object built on first use), reached at the first attribute read, so
    that test modules can name it at import time on machines without CUDA."""

    def __getattr__(self, name):
        return getattr(tg.backends.get("cuda"), name)


CUDA_BACKEND = _CUDABackend()


def same_error(call, torch):
    """call(lib) raises the same exception type with the same text with tritongrad and with PyTorch."""
    with pytest.raises(Exception) as ours:
        call(tg)
    with pytest.raises(Exception) as theirs:
        call(torch)
    assert (type(ours.value).__name__, str(ours.value)) == (type(theirs.value).__name__, str(theirs.value))
