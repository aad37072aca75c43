"""Shared fixtures: the `device` fixture runs a test on the CPU and on CUDA (real, or emulated with
TRITONGRAD_EMULATE_CUDA=1 through Triton's interpreter), and `torch` is the optional oracle.

With TRITONGRAD_BLOCK_TORCH=1 (scripts/gpu_check.sh sets it) `import torch` fails in the test
process, which proves that tritongrad needs no PyTorch at run time.
"""
import importlib.abc
import os
import sys

# NOTE: one BLAS thread: tests use small matrices, and on a busy 2-core machine OpenBLAS's spinning
# threads made a 64x1000 @ 1000x100 matmul take 100 ms instead of 0.3 ms. Set before NumPy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest


class _NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: TRITONGRAD_BLOCK_TORCH=1)")
        return None


if os.environ.get("TRITONGRAD_BLOCK_TORCH") == "1":
    sys.meta_path.insert(0, _NoTorch())

import tritongrad as tg  # noqa: E402

CUDA = tg.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("device") == "cuda":
            item.add_marker(pytest.mark.cuda)


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not CUDA, reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)"))])
def device(request):
    return request.param


@pytest.fixture
def torch():
    """PyTorch (CPU) as an oracle; the test skips when it is not installed."""
    return pytest.importorskip("torch")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
