"""einsum beyond plain contractions: subscripts repeated within one operand (diagonals and traces), three
and more operands, ellipsis with a diagonal, and the sublist format; values against PyTorch, gradients
against float64 finite differences, on both devices."""
import numpy as np
import pytest
from helpers import check_grad, same_error

import tritongrad as tg

CASES = {
    "diag": ("ii->i", [(3, 3)]),
    "trace": ("ii", [(4, 4)]),
    "batch_diag": ("bii->bi", [(2, 3, 3)]),
    "split_diag": ("iji->j", [(3, 2, 3)]),
    "triple": ("iii->i", [(2, 2, 2)]),
    "two_repeats": ("iijj->ij", [(2, 2, 3, 3)]),
    "diag_times": ("ii,ij->j", [(3, 3), (3, 4)]),
    "chain3": ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    "chain4_implicit": ("ab,bc,cd,de", [(2, 3), (3, 2), (2, 4), (4, 3)]),
    "ellipsis_diag": ("...ii->...i", [(2, 1, 3, 3)]),
    "outer_diag": ("ii,jj->ij", [(2, 2), (3, 3)]),
}


@pytest.mark.parametrize("case", CASES)
def test_einsum_matches_pytorch_and_finite_differences(device, torch, rng, case):
    eq, shapes = CASES[case]
    data = [rng.standard_normal(s) for s in shapes]
    ours = tg.einsum(eq, *[tg.tensor(d, device=device) for d in data])
    theirs = torch.einsum(eq, *[torch.tensor(d) for d in data])
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
    check_grad(lambda *ts: tg.einsum(eq, *ts) * 1.0, [tg.tensor(d, device=device, requires_grad=True) for d in data])


def test_diagonal_ignores_what_lies_off_it(device):
    x = tg.tensor([[1.0, float("inf")], [float("nan"), 3.0]], device=device, requires_grad=True)
    y = tg.einsum("ii->i", x)
    np.testing.assert_array_equal(y.detach().cpu().numpy(), [1.0, 3.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), np.eye(2))


SUBLISTS = {
    "matmul": lambda L, a, b: L.einsum(a, [0, 1], b, [1, 2], [0, 2]),
    "implicit": lambda L, a, b: L.einsum(a, [0, 1], b, [1, 2]),
    "diag": lambda L, a, b: L.einsum(a[:, :3], [0, 0], [0]),
    "ellipsis": lambda L, a, b: L.einsum(a, [Ellipsis, 1], b, [1, 51]),
    "letters": lambda L, a, b: L.einsum(a, [25, 26], b, [26, 3]),
}


@pytest.mark.parametrize("case", SUBLISTS)
def test_sublist_format_matches_pytorch(device, torch, rng, case):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    ours = SUBLISTS[case](tg, tg.tensor(a, device=device), tg.tensor(b, device=device))
    theirs = SUBLISTS[case](torch, torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


BAD = {
    "sizes": lambda L: L.einsum("ii->i", L.ones(2, 3)),
    "range": lambda L: L.einsum(L.ones(2, 2), [0, 52]),
    "negative": lambda L: L.einsum(L.ones(2, 2), [0, -1]),
}


@pytest.mark.parametrize("case", BAD)
def test_errors_match_pytorch(case, torch):
    same_error(BAD[case], torch)


def test_one_operand_is_a_new_tensor_with_history():
    a = tg.ones(2, 3, requires_grad=True)
    assert tg.einsum("ij->ij", a).grad_fn.name() == "PermuteBackward0"
