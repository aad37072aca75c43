"""The generated in-place twins (tritongrad/_inplace_methods.py: `x.sigmoid_()`, `x.round_(decimals=1)`,
`x.lerp_(y, w)`, `x.clip_(...)`, ...) against PyTorch on both devices: the values written, the node
recorded and the gradients through it, on whole tensors and on views; and the in-place errors, with
nothing written."""
import numpy as np
import pytest

import tritongrad as tg
from tritongrad._inplace_methods import _TWINS

BITWISE = {"bitwise_and_", "bitwise_or_", "bitwise_xor_"}
NAMES = [n for names in _TWINS.values() for n in names] + ["clip_", "divide_", "true_divide_", "multiply_",
                                                            "subtract_"]


def _args(M, name, other, device):
    o = M.tensor(other, device=device)
    two = {"atan2_", "arctan2_", "divide_", "true_divide_", "multiply_", "subtract_"} | BITWISE
    return ((o,) if name in two else (o, 0.3) if name == "lerp_" else (0,) if name == "cumsum_" else
            (-0.5, 0.5) if name == "clip_" else ())


@pytest.mark.parametrize("name", NAMES)
def test_twin_matches_pytorch(device, torch, rng, name):
    bitwise = name in BITWISE
    data = rng.integers(-5, 5, (3, 4)) if bitwise else rng.uniform(0.1, 0.9, (3, 4))
    other = rng.integers(-5, 5, (4,)) if bitwise else rng.uniform(0.1, 0.9, (4,))
    w = rng.standard_normal((3, 4))
    got = []
    for M, dev in ((tg, device), (torch, "cpu")):
        x = M.tensor(data, device=dev)
        assert getattr(x, name)(*_args(M, name, other, dev)) is x and x._version == 1
        row = [x.cpu().numpy()]
        if name == "round_":  # NOTE: and its keyword
            row.append(M.tensor(data * 7, device=dev).round_(decimals=1).cpu().numpy())
        if not bitwise:
            a = M.tensor(data, device=dev, requires_grad=True)
            b = a * 1
            getattr(b, name)(*_args(M, name, other, dev))
            (b * M.tensor(w, device=dev)).sum().backward()
            v = a * 1  # NOTE: on a view: the base's history becomes CopySlices
            getattr(v[1:], name)(*_args(M, name, other, dev))
            row += [b.grad_fn.name(), a.grad.cpu().numpy(), v.grad_fn.name(), v.detach().cpu().numpy()]
        got.append(row)
    for mine, theirs in zip(*got):
        if isinstance(mine, str):
            assert mine == theirs
        else:
            np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)


CASES = {  # each: (a call that PyTorch refuses, the message)
    "cast": (lambda M, x, i: i.sigmoid_(), "result type Float can't be cast to the desired output type Long"),
    "leaf": (lambda M, x, i: M.ones(3, requires_grad=True, device=x.device).tanh_(),
             "a leaf Variable that requires grad is being used in an in-place operation."),
    "broadcast": (lambda M, x, i: x[0].clone().atan2_(x), "output with shape [3] doesn't match the broadcast shape "
                  "[2, 3]"),
    "overlap": (lambda M, x, i: x[0].atan2_(x), "unsupported operation: some elements of the input tensor and the "
                "written-to tensor refer to a single memory location."),
    "expanded": (lambda M, x, i: x[:1].expand(2, 3).abs_(), "unsupported operation: more than one element of the "
                 "written-to tensor refers to a single memory location. Please clone() the tensor before "
                 "performing the operation."),
    "arguments": (lambda M, x, i: x.atan2_(1.5), "atan2_(): argument 'other' (position 1) must be Tensor, not float"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_twin_errors_match_pytorch_and_write_nothing(device, torch, rng, case):
    call, message = CASES[case]
    data, ints = rng.standard_normal((2, 3)), rng.integers(-5, 5, (3,))
    errors = []
    for M, dev in ((tg, device), (torch, "cpu")):
        x, i = M.tensor(data, device=dev), M.tensor(ints, device=dev)
        with pytest.raises((RuntimeError, TypeError)) as e:
            call(M, x, i)
        errors.append(e.value)
        assert (x.cpu().numpy() == data).all() and (i.cpu().numpy() == ints).all() and x._version == i._version == 0
    mine, theirs = errors
    assert type(mine) is type(theirs) and message in str(theirs) and message in str(mine)
