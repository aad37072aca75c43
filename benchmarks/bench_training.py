"""Whole training steps: forward, backward and the SGD update, as a user's loop runs them.

Cases:
- tutorial: the 1000 -> 100 -> 10 network of the tutorials (64 samples, `x.mm(w1).clamp(min=0)
  .mm(w2)`, sum-of-squares loss, `w -= lr * w.grad` under no_grad, `w.grad.zero_()`); NumPy runs
  the tutorial's hand-written backward.
- rosenbrock: one gradient-descent step on f(x1, x2) = (1 - x1)^2 + 5 (x2 - x1^2)^2 (two elements:
  pure per-op overhead).
- mlp: a 4096-wide MLP, batch 1024, three linear layers with bias and ReLU, mean squared error,
  float32 with TF32 allowed on the GPU (tritongrad and PyTorch alike); GPU providers only in full
  mode (about 0.3 TFLOP per step).

Modes: eager (the step as Python runs it), and graph on a real GPU: the step captured once with
tg.cuda.CUDAGraph / tg.cuda.graph (PyTorch: torch.cuda.CUDAGraph after a side-stream warm-up, as
its documentation does it) and replayed.
"""
import numpy as np
import pytest
from benchlib import EMULATED, QUICK, Provider, cases, graphed, measure

ALL = ["tritongrad-cuda", "torch-cuda", "tritongrad-cpu", "numpy", "torch-cpu"]
GPU = ["tritongrad-cuda", "torch-cuda"]
MLP_WIDTH, MLP_BATCH, MLP_LAYERS = (128, 32, 3) if QUICK else (4096, 1024, 3)
_NO_GRAPH = "CUDA graphs need a real GPU; emulated CUDA cannot capture"


def _mode_skip(mode):
    return (lambda p, s: _NO_GRAPH if mode == "graph" and EMULATED else None)


def _params(providers_by_mode, size):
    out = []
    for mode, providers in providers_by_mode.items():
        for p in cases(providers, [size], skip=_mode_skip(mode)):
            out.append(pytest.param(mode, p.values[0], marks=p.marks, id=f"{mode}-{p.values[0]}"))
    return out


def _sgd(P, params, lr):
    """The tutorial's update: `w -= lr * w.grad` under no_grad, then `w.grad.zero_()`."""
    with P.mod.no_grad():
        for w in params:
            w -= lr * w.grad
        for w in params:
            w.grad.zero_()


def _run(benchmark, P, mode, case, step, size, flops=None, dtype="float32"):
    fn = graphed(P, step) if mode == "graph" else step
    measure(benchmark, P, fn, family="training", case=case, size=size, x=0, dtype=dtype, mode=mode, flops=flops)


# --- the tutorial network ----------------------------------------------------------------------------
def tutorial_step(P, lr=1e-6):
    """One training step of the 1000 -> 100 -> 10 network on 64 random samples, as a closure."""
    x, y = P.randn(64, 1000), P.randn(64, 10)
    if P.lib == "numpy":
        w1, w2 = P.randn(1000, 100), P.randn(100, 10)

        def step():  # NOTE: the tutorial's NumPy version: backward written by hand
            h = x.dot(w1)
            h_relu = np.maximum(h, 0)
            y_pred = h_relu.dot(w2)
            loss = np.square(y_pred - y).sum()
            grad_y_pred = 2.0 * (y_pred - y)
            grad_w2 = h_relu.T.dot(grad_y_pred)
            grad_h = grad_y_pred.dot(w2.T)
            grad_h[h < 0] = 0
            grad_w1 = x.T.dot(grad_h)
            w1[...] -= lr * grad_w1  # NOTE: in place: the closure keeps the same arrays
            w2[...] -= lr * grad_w2
            return loss
        return step
    w1, w2 = P.randn(1000, 100, requires_grad=True), P.randn(100, 10, requires_grad=True)

    def step():
        loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
        loss.backward()
        _sgd(P, (w1, w2), lr)
        return loss
    return step


TUTORIAL_FLOPS = 3 * 2 * 64 * (1000 * 100 + 100 * 10)  # NOTE: matmuls only: forward, dW, dX (roughly)


@pytest.mark.parametrize("mode,provider", _params({"eager": ALL, "graph": GPU}, "tutorial"))
def test_tutorial(benchmark, mode, provider):
    P = Provider(provider)
    _run(benchmark, P, mode, "tutorial", tutorial_step(P), "64x1000x100x10", flops=TUTORIAL_FLOPS)


# --- Rosenbrock --------------------------------------------------------------------------------------
def rosenbrock_step(P, lr=1e-2):
    """One descent step on the Rosenbrock function from (-1, 1), as a closure."""
    if P.lib == "numpy":
        x = np.array([-1.0, 1.0], np.float32)

        def step():
            x1, x2 = x
            f = (1 - x1) ** 2 + 5 * (x2 - x1 ** 2) ** 2
            grad = np.array([-2 * (1 - x1) - 20 * x1 * (x2 - x1 ** 2), 10 * (x2 - x1 ** 2)], np.float32)
            x[:] -= lr * grad
            return f
        return step
    x = P.mod.tensor([-1.0, 1.0], device=P.device, requires_grad=True)

    def step():
        f = (1 - x[0]) ** 2 + 5 * (x[1] - x[0] ** 2) ** 2
        f.backward()
        _sgd(P, (x,), lr)
        return f
    return step


@pytest.mark.parametrize("mode,provider", _params({"eager": ALL, "graph": GPU}, "rosenbrock"))
def test_rosenbrock(benchmark, mode, provider):
    P = Provider(provider)
    _run(benchmark, P, mode, "rosenbrock", rosenbrock_step(P), "2")


# --- a wide MLP --------------------------------------------------------------------------------------
def mlp_step(P, width=MLP_WIDTH, batch=MLP_BATCH, layers=MLP_LAYERS, lr=1e-3):
    """One SGD step of a `layers`-deep ReLU MLP of `width` on a random batch, as a closure."""
    x, y = P.randn(batch, width), P.randn(batch, width)
    params = []
    for _ in range(layers):
        w = (P.randn(width, width) * width**-0.5).requires_grad_()
        b = (P.randn(width) * 0.1).requires_grad_()
        params += [w, b]

    def step():
        h = x
        for i in range(layers):
            h = h.mm(params[2 * i]) + params[2 * i + 1]
            if i < layers - 1:
                h = h.relu()
        loss = (h - y).pow(2).mean()
        loss.backward()
        _sgd(P, params, lr)
        return loss
    return step


def mlp_flops(width=MLP_WIDTH, batch=MLP_BATCH, layers=MLP_LAYERS):
    """Matmul flops of one step: forward and dW for every layer, dX for all but the first."""
    return 2 * batch * width * width * (3 * layers - 1)


MLP_EAGER = [p for p in ALL if p != "numpy" and (QUICK or p in GPU)]


@pytest.mark.parametrize("mode,provider", _params({"eager": MLP_EAGER, "graph": GPU}, "mlp"))
def test_mlp(benchmark, mode, provider):
    P = Provider(provider)
    dtype = "tf32" if P.device == "cuda" else "float32"
    with P.precision(dtype):
        _run(benchmark, P, mode, "mlp", mlp_step(P), f"{MLP_BATCH}x{MLP_WIDTH}x{MLP_LAYERS}", flops=mlp_flops(),
             dtype=dtype)
