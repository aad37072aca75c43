"""examples/custom_triton_op.py: a user's own Triton kernels (fused SiLU) inside an autograd.Function,
on the CPU (NumPy) and on (emulated) CUDA (the kernels)."""
import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from helpers import TOL

import tritongrad as tg

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "custom_triton_op.py"


@pytest.fixture(scope="module")
def ex():
    spec = importlib.util.spec_from_file_location("examples_custom_triton_op", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trains_on_cpu(ex, capsys):
    r = ex.main(["--device", "cpu", "--steps", "60"])
    out = capsys.readouterr().out
    assert r["gradcheck"] is True and r["max_diff"] < 1e-12
    assert r["losses"][-1] < 0.1 * r["losses"][0]
    assert "grad_fn of silu(x): SiLUBackward" in out


@pytest.mark.cuda
@pytest.mark.skipif(not tg.cuda.is_available(), reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
def test_cuda_kernels_match_cpu(ex, capsys):
    cuda = ex.main(["--device", "cuda", "--steps", "3"])
    cpu = ex.main(["--device", "cpu", "--steps", "3"])
    assert cuda["gradcheck"] is True and cuda["max_diff"] < 1e-12
    np.testing.assert_allclose(cuda["losses"], cpu["losses"], **TOL["float32"])


@pytest.mark.parametrize("shape", [(1,), (97,), (3, 1, 17)])
def test_silu_values_and_grads(ex, device, rng, shape):
    a = rng.standard_normal(shape) * 4
    x = tg.tensor(a, dtype=tg.float32, device=device, requires_grad=True)
    y = ex.silu(x)
    s = 1 / (1 + np.exp(-a))
    np.testing.assert_allclose(y.detach().cpu().numpy(), a * s, **TOL["float32"])
    g = rng.standard_normal(shape)
    y.backward(tg.tensor(g, dtype=tg.float32, device=device))
    np.testing.assert_allclose(x.grad.cpu().numpy(), g * s * (1 + a * (1 - s)), **TOL["float32"])


def test_silu_float16_on_device(ex, device, rng):
    if device == "cpu":
        pytest.skip("the float16 path is the kernel's (fp32 compute); the CPU path is NumPy's")
    a = rng.standard_normal(33) * 3
    x = tg.tensor(a, dtype=tg.float16, device=device)
    y = ex.silu(x)
    assert y.dtype == tg.float16
    ref = a.astype(np.float16).astype(np.float64)
    np.testing.assert_allclose(y.cpu().numpy().astype(np.float64), ref / (1 + np.exp(-ref)), **TOL["float16"])


def test_non_contiguous_input(ex, device, rng):
    a = rng.standard_normal((5, 4))
    x = tg.tensor(a, dtype=tg.float64, device=device, requires_grad=True)
    ex.silu(x.t()).sum().backward()
    s = 1 / (1 + np.exp(-a))
    np.testing.assert_allclose(x.grad.cpu().numpy(), s * (1 + a * (1 - s)), rtol=1e-12)


def test_gradcheck_catches_a_wrong_backward_kernel(ex, device, monkeypatch):
    # a wrong backward: dy * sigmoid(x) (the derivative without the x * s * (1 - s) term)
    if device == "cpu":
        monkeypatch.setattr(ex, "silu_bwd_cpu", lambda x, dy: tg.from_numpy(
            dy.numpy() * ex._sigmoid_np(x.detach().numpy())))
    else:
        monkeypatch.setattr(ex, "silu_bwd_cuda", lambda x, dy: dy * x.sigmoid())
    x = tg.tensor([[-1.5, 0.3, 2.0]], dtype=tg.float64, device=device, requires_grad=True)
    with pytest.raises(tg.autograd.GradcheckError, match="^Jacobian mismatch for output 0 with respect to input 0"):
        tg.autograd.gradcheck(ex.silu, (x,))


def test_second_derivative_is_refused(ex, device):
    x = tg.tensor([0.5, -1.0], dtype=tg.float64, device=device, requires_grad=True)
    (g,) = tg.autograd.grad((ex.silu(x) * x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="^trying to differentiate twice a function that was marked with "
                                           "@once_differentiable$"):
        g.sum().backward()


def test_runs_as_script():
    env = dict(os.environ, TRITONGRAD_EMULATE_CUDA="0")
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--device", "cpu", "--steps", "5"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("device: cpu\ngradcheck (float64) of our SiLU kernels: True")
