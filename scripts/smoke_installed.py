"""Smoke test of an installed tritongrad (CI runs it from outside the checkout, in a fresh environment
holding only the built wheel and its `emulate` extra): a CPU training step, an emulated CUDA forward and
backward, tritongrad.kernels, the version and the shipped data files.

    TRITONGRAD_EMULATE_CUDA=1 python smoke_installed.py
"""
import importlib.metadata
import os
import sys

import numpy as np

import tritongrad as tg


def check_installed():
    """The package, and its kernels, come from the environment, not from a checkout."""
    import tritongrad.kernels as kernels

    package_dir = os.path.dirname(tg.__file__)
    assert package_dir.startswith(sys.prefix), f"tritongrad imported from {package_dir}, not from {sys.prefix}"
    assert os.path.dirname(kernels.__file__) == os.path.join(package_dir, "kernels"), kernels.__file__
    assert tg.__version__ == importlib.metadata.version("tritongrad"), tg.__version__
    assert os.path.isfile(os.path.join(package_dir, "py.typed"))
    assert os.path.isfile(os.path.join(package_dir, "data", "digits.csv.gz"))
    print(f"tritongrad {tg.__version__} from {package_dir}")


def cpu_training_step():
    """Ten SGD steps of a small MLP: the loss falls."""
    tg.manual_seed(0)
    x, y = tg.randn(64, 20), tg.randn(64, 3)
    model = tg.nn.Sequential(tg.nn.Linear(20, 32), tg.nn.ReLU(), tg.nn.Linear(32, 3))
    opt = tg.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(10):
        loss = tg.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses
    print(f"cpu: loss {losses[0]:.4f} -> {losses[-1]:.4f}")


def emulated_cuda_forward_backward():
    """The tutorial's forward and backward on emulated CUDA (Triton's interpreter) match the CPU's."""
    assert tg.cuda.is_available() and tg.cuda.is_emulated(), "run with TRITONGRAD_EMULATE_CUDA=1"
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((8, 5), (5, 4), (4, 3))]
    grads = {}
    for device in ("cpu", "cuda"):
        x, w1, w2 = (tg.tensor(a, device=device, requires_grad=True) for a in arrays)
        loss = x.mm(w1).clamp(min=0).mm(w2).pow(2).sum()
        loss.backward()
        grads[device] = [loss.item()] + [t.grad.cpu().numpy() for t in (x, w1, w2)]
    for got, want in zip(grads["cuda"], grads["cpu"]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    print(f"emulated cuda: loss {grads['cuda'][0]:.4f}, gradients match the CPU's")


if __name__ == "__main__":
    check_installed()
    cpu_training_step()
    emulated_cuda_forward_backward()
    print("installed package: OK")
