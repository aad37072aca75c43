"""The tutorial programs in examples/: each runs on the CPU with the numbers the tutorials print,
on (emulated) CUDA with the CPU's numbers, and as a script.

CUDA runs are short (the interpreter is slow): a few steps each, compared with the CPU's run of the
same length within float32 tolerance.
"""
import contextlib
import importlib.util
import io
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from helpers import TOL

import tritongrad as tg

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
CUDA = tg.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")


def load(name):
    """Import examples/<name>.py as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def close(a, b, **tol):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), **(tol or TOL["float32"]))


# --- autograd_basics -----------------------------------------------------------------------------

GRAPH = ["MeanBackward0", "MulBackward0", "PowBackward0", "MulBackward0", "AccumulateGrad", "AddBackward0",
         "AccumulateGrad", "None", "None"]


def graph_names(text):
    """Node names of the printed graph walk, in order (the lines between the header and the gradients);
    AccumulateGrad's name() is PyTorch's "torch::autograd::AccumulateGrad"."""
    walk = text.split("down to the leaves:")[1].split("Gradients after")[0]
    return [line.split()[0].split("::")[-1] for line in walk.splitlines()
            if line.strip() and not line.strip().startswith((".variable", "tensor(", "["))]


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=[needs_cuda, pytest.mark.cuda])])
def test_autograd_basics(device, capsys):
    r = load("autograd_basics").main(["--device", device])
    text = capsys.readouterr().out
    # Every value here is exact in float32, on every device.
    assert r["x_grad"].tolist() == [[0.25, 0.25], [0.25, 0.25]]
    assert r["out"].item() == 64.5
    assert r["z_grad"].tolist() == [[0.25, 0.25], [0.25, 0.25]]
    assert r["y_grad"].tolist() == [[4.5, 6.0], [7.5, 9.0]]
    assert r["x2_grad"].tolist() == [[4.5, 6.0], [7.5, 9.0]]
    assert r["x1_grad"].tolist() == [[13.5, 24.0], [37.5, 54.0]]
    assert graph_names(text) == GRAPH
    suffix = ", device='cuda:0'" if device == "cuda" else ""
    assert f"y = tensor(1.{suffix}, grad_fn=<MeanBackward0>)" in text
    assert "y.grad_fn = <MeanBackward0 object at 0x" in text
    assert ("y.grad = tensor([[4.5000, 6.0000],\n        [7.5000, 9.0000]]" + suffix + ")") in text
    assert ("x1.grad = tensor([[13.5000, 24.0000],\n        [37.5000, 54.0000]]" + suffix + ")") in text


def test_autograd_basics_graph_as_pytorch(torch):
    """The graph tritongrad prints is the one PyTorch builds for the same expression."""
    names = []

    def walk(node):
        # NOTE: type names: PyTorch's AccumulateGrad.name() is "torch::autograd::AccumulateGrad".
        names.append(type(node).__name__ if node is not None else "None")
        for n, _ in (node.next_functions if node is not None else ()):
            walk(n)

    x1 = torch.ones(2, 2, requires_grad=True)
    x2 = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    walk((((x1 * (x2 + 2)).pow(2)) * 3).mean().grad_fn)
    assert names == GRAPH


# --- rosenbrock ----------------------------------------------------------------------------------

def test_rosenbrock_cpu(capsys):
    f, x = load("rosenbrock").main(["--device", "cpu"])
    text = capsys.readouterr().out
    assert "after 1000 iterations: f(x) = 6.9080e-05 at x = (0.9918, 0.9830)" in text
    assert "iter    0: f(x) = 4.0000e+00  x = ( -1.0000,   1.0000)  grad = ( -4.0000,   0.0000)" in text
    assert len(re.findall(r"^iter ", text, re.M)) == 10
    close(f, 6.908005889272317e-05, rtol=1e-4)  # PyTorch 2.x, float32, the same program
    close(x, [0.9918217658996582, 0.983047604560852], rtol=1e-6)


def test_rosenbrock_as_pytorch(torch, capsys):
    """The same 1000 iterations in PyTorch end at the same float32 numbers (rounding aside)."""
    x = torch.tensor([-1.0, 1.0], requires_grad=True)
    for _ in range(1000):
        ((1 - x[0]) ** 2 + 5 * (x[1] - x[0] ** 2) ** 2).backward()
        with torch.no_grad():
            x -= 0.01 * x.grad
        x.grad.zero_()
    _, ours = load("rosenbrock").main(["--device", "cpu"])
    close(ours, x.tolist(), rtol=1e-6, atol=0)


@needs_cuda
@pytest.mark.cuda
def test_rosenbrock_cuda_matches_cpu(capsys):
    ex = load("rosenbrock")
    f_cpu, x_cpu = ex.main(["--device", "cpu", "--iterations", "100"])
    f_cuda, x_cuda = ex.main(["--device", "cuda", "--iterations", "100"])
    close(f_cuda, f_cpu)
    close(x_cuda, x_cpu)


# --- two_layer_net -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_layer_cpu():
    """The full CPU run of both networks (about 3 s), shared by the tests below: (losses, printed text)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        r = load("two_layer_net").main(["--device", "cpu"])
    return r, out.getvalue()


def test_two_layer_net_cpu(two_layer_cpu):
    r, text = two_layer_cpu
    small, large = r["small"], r["large"]
    assert len(small) == 200 and len(large) == 500
    assert small[-1] < 0.5 * small[0]
    assert all(b < a for a, b in zip(small, small[1:]))  # a small step on a smooth loss: always down
    assert 1e7 < large[0] < 1e8 and large[-1] < 1e-3
    assert text.startswith("device: cpu\n")
    assert re.search(r"ms per step on cpu", text)
    assert len(re.findall(r"^  step ", text, re.M)) == 3 + 6  # step 0, then every 100th


@pytest.mark.parametrize("net", ["small", "large"])
def test_two_layer_net_as_pytorch(torch, net, two_layer_cpu):
    """PyTorch trains the same network from the same numbers along the same losses."""
    ex = load("two_layer_net")
    problem, lr, steps = (ex.small_problem, 1e-4, 200) if net == "small" else (ex.large_problem, 1e-6, 500)
    x, y, w1, w2 = (torch.from_numpy(t.numpy().copy()) for t in problem(0))
    w1.requires_grad_()
    w2.requires_grad_()
    expected = []
    for _ in range(steps):
        loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2)
        loss = loss.mean() if net == "small" else loss.sum()
        expected.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    ours = two_layer_cpu[0][net]
    # NOTE: float32 sums of 1000 terms round differently; the relative difference grows as the loss
    # falls by 12 orders of magnitude (measured: 3e-6 at step 100, 5e-5 at 200, 4e-3 at 500).
    close(ours[:200], expected[:200], rtol=1e-3, atol=0)
    close(ours[-1], expected[-1], rtol=5e-2, atol=0)


@needs_cuda
@pytest.mark.cuda
def test_two_layer_net_cuda_matches_cpu(capsys):
    ex = load("two_layer_net")
    cpu = ex.main(["--device", "cpu", "--steps", "3"])
    cuda = ex.main(["--device", "cuda", "--steps", "3"])
    assert "ms per step on cuda" in capsys.readouterr().out
    close(cuda["small"], cpu["small"])
    close(cuda["large"], cpu["large"])
    assert cuda["large"][-1] < cuda["large"][0]


# --- linear_regression ---------------------------------------------------------------------------

def test_linear_regression_cpu(capsys):
    ex = load("linear_regression")
    b0, b1, e0, e1 = ex.main(["--device", "cpu"])
    text = capsys.readouterr().out
    close([b0, b1], [e0, e1], atol=1e-4, rtol=0)  # the descent reached the least-squares fit
    # The fit is within 4 standard errors (0.5 / sqrt(200) = 0.035) of the true b0 = b1 = 1.
    assert abs(b0 - 1) < 0.15 and abs(b1 - 1) < 0.15
    assert f"fitted by gradient descent: b0 = {b0:.4f}, b1 = {b1:.4f}" in text
    # NumPy's least squares on the same data agrees with the example's closed form.
    x, y = (t.numpy().astype(np.float64) for t in ex.make_data(200, 42))
    slope, intercept = np.polyfit(x, y, 1)
    close([e0, e1], [intercept, slope], atol=1e-5, rtol=0)
    # The noise has standard deviation 0.5 (variance 0.25), as the example says.
    assert 0.4 < (y - 1 - x).std() < 0.6


@needs_cuda
@pytest.mark.cuda
def test_linear_regression_cuda_matches_cpu(capsys):
    ex = load("linear_regression")
    cpu = ex.main(["--device", "cpu", "--epochs", "10"])
    cuda = ex.main(["--device", "cuda", "--epochs", "10"])
    close(cuda, cpu)


# --- manual_vs_autograd --------------------------------------------------------------------------

@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=[needs_cuda, pytest.mark.cuda])])
def test_manual_vs_autograd(device, capsys):
    steps = "50" if device == "cpu" else "3"
    r = load("manual_vs_autograd").main(["--device", device, "--steps", steps])
    text = capsys.readouterr().out
    assert "tg.eq(manual, w.grad).all() = tensor(True" in text
    assert r["first_equal"] and r["all_equal"] and r["weights_equal"] and r["detached_is_leaf"]
    assert "after predicted.detach_(): grad_fn = None  requires_grad = False  is_leaf = True" in text
    assert "after w.requires_grad_(False): X.mm(w).requires_grad = False" in text
    if device == "cpu":  # the descent itself, recomputed in float64 from the same data (847 -> 1.108)
        X, real, w = (a.numpy().astype(np.float64) for a in load("manual_vs_autograd").make_data(50, 0))
        start = ((X @ w - real) ** 2).sum()
        for _ in range(50):
            loss = ((X @ w - real) ** 2).sum()
            w = w - 1e-3 * X.T @ (2 * (X @ w - real))
        close(r["final_loss"], loss, rtol=1e-4)
        assert loss < 0.002 * start


@needs_cuda
@pytest.mark.cuda
def test_manual_vs_autograd_cuda_matches_cpu(capsys):
    ex = load("manual_vs_autograd")
    cpu = ex.main(["--device", "cpu", "--steps", "3"])
    cuda = ex.main(["--device", "cuda", "--steps", "3"])
    close(cuda["final_loss"], cpu["final_loss"])


# --- every example as a script -------------------------------------------------------------------

SCRIPTS = {"autograd_basics": [], "rosenbrock": ["--iterations", "5"], "two_layer_net": ["--steps", "2"],
           "linear_regression": ["--epochs", "3"], "manual_vs_autograd": ["--steps", "2"]}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_runs_as_script(name):
    env = dict(os.environ, TRITONGRAD_EMULATE_CUDA="0")
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--device", "cpu", *SCRIPTS[name]],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("device: cpu")
