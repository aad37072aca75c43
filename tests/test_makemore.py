"""examples/makemore_mlp.py prints the same losses and the same sampled names under PyTorch and
under tritongrad (CPU), because tritongrad's CPU generator reproduces PyTorch's stream (initial
weights, minibatch indices, multinomial samples); and it trains on (emulated) CUDA.

Tolerance on the losses: 1e-4, one unit of the last printed decimal. Both programs draw the same
numbers, but the float32 arithmetic is done by different code (MKL's and OpenBLAS's matmul
summation orders, two tanh and log-softmax implementations), each op may differ in its last bit,
and over a few hundred SGD steps that can move a printed 4th decimal across a rounding boundary.
The sampled names must be identical.
"""
import contextlib
import importlib.util
import io
import pathlib
import re

import numpy as np
import pytest

import tritongrad as tg

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "makemore_mlp.py"
LOSS = re.compile(r"loss (\d+\.\d+)$")


def _has_tensor_indexing():
    try:
        tg.zeros(3, 2)[tg.tensor([[0, 2]])]
    except IndexError:
        return False
    return True


# NOTE: the example's embedding lookup C[X] is advanced indexing (issue 15 item 1), built on its own branch:
# until it is merged these tests cannot run, and say so.
pytestmark = pytest.mark.skipif(not _has_tensor_indexing(), reason="C[X] needs indexing with a Tensor of indices, "
                                "which this build does not have yet")


def run(*argv):
    spec = importlib.util.spec_from_file_location("examples_makemore_mlp", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main(list(argv))
    return out.getvalue().splitlines()


def split(lines):
    """(the lines with their losses blanked, the losses): everything else must match exactly."""
    losses = [float(m.group(1)) for m in map(LOSS.search, lines) if m]
    return [LOSS.sub("loss _", line) for line in lines], np.array(losses)


def test_same_losses_and_samples_as_torch(torch):
    args = ["--steps", "300", "--print-every", "50", "--samples", "12"]
    ours, our_losses = split(run("--framework", "tritongrad", *args))
    theirs, their_losses = split(run("--framework", "torch", *args))
    assert ours == theirs  # dataset sizes, parameter count, and the 12 sampled names
    assert len(our_losses) == 9 and our_losses[0] > 3.0 and our_losses[-1] < 2.9  # it trains
    np.testing.assert_allclose(our_losses, their_losses, rtol=0, atol=1e-4)


@pytest.mark.cuda
@pytest.mark.skipif(not tg.cuda.is_available(), reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
def test_trains_on_cuda(tmp_path):
    """A few steps on CUDA print the CPU's losses (float32 tolerance): same draws, other kernels.
    60 names, so that the emulated kernels' full-set evaluation stays short."""
    names = tmp_path / "names.txt"
    names.write_text("\n".join(EXAMPLE.with_name("data").joinpath("names.txt").read_text().split()[:60]))
    args = ["--steps", "3", "--print-every", "1", "--samples", "1", "--data", str(names)]
    cpu, cpu_losses = split(run("--device", "cpu", *args))
    cuda, cuda_losses = split(run("--device", "cuda", *args))
    assert len(cuda_losses) == 5 and cuda[:2] == cpu[:2]
    np.testing.assert_allclose(cuda_losses, cpu_losses, rtol=1e-4)
