"""split / split_with_sizes / chunk / unbind: ONE node for all pieces (PyTorch's SplitBackward0,
SplitWithSizesBackward0, UnbindBackward0), pieces that are views of the input, PyTorch's ban on writing
them in place while autograd records; tensor_split / hsplit / vsplit / dsplit (a SliceBackward0 per piece)."""
import numpy as np
import pytest
from helpers import check_grad, randn

import tritongrad as tg

SPLITS = {
    "split": lambda L, x: x.split(2, 1),
    "split_sizes": lambda L, x: L.split(x, [1, 0, 4], dim=-1),
    "chunk": lambda L, x: x.chunk(3, 1),
    "unbind": lambda L, x: x.unbind(1),
    "tensor_split": lambda L, x: x.tensor_split(3, dim=1),
    "tensor_split_indices": lambda L, x: L.tensor_split(x, [1, -2, 4, 9], dim=1),
    "hsplit": lambda L, x: L.hsplit(x, [2]),
    "vsplit": lambda L, x: x.vsplit(3),
    "dsplit": lambda L, x: L.dsplit(x.reshape(3, 1, 5), [1, 3]),
}


def _error(fn):
    try:
        fn()
    except (RuntimeError, IndexError) as e:
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("name", SPLITS)
def test_pieces_their_node_and_views_match_pytorch(name, torch, rng):
    data = rng.standard_normal((3, 5))
    x, tx = tg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours, theirs = SPLITS[name](tg, x), SPLITS[name](torch, tx)
    assert [tuple(p.shape) for p in ours] == [tuple(p.shape) for p in theirs]
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
        assert p.grad_fn.name() == q.grad_fn.name() and p.output_nr == q.output_nr
        assert p._is_view() and p._base is x and p._version == x._version
    shared = [p.grad_fn is ours[0].grad_fn for p in ours]
    assert shared == [q.grad_fn is theirs[0].grad_fn for q in theirs]
    node, their_node = ours[0].grad_fn, theirs[0].grad_fn
    for attr in ("_saved_dim", "_saved_split_size", "_saved_split_sizes", "_saved_self_sym_sizes"):
        if hasattr(their_node, attr):
            assert tuple(np.atleast_1d(getattr(node, attr))) == tuple(np.atleast_1d(getattr(their_node, attr)))
    assert [n.name() for n, _ in node.next_functions] == [n.name() for n, _ in their_node.next_functions]


@pytest.mark.parametrize("name", SPLITS)
@pytest.mark.parametrize("used", ["all", "some"])
def test_gradients_match_finite_differences(device, name, used, rng):
    def f(x):
        pieces = SPLITS[name](tg, x)
        picked = pieces if used == "all" else pieces[1::2] or pieces[:1]
        return tg.cat([(p * (i + 1.5)).sin().reshape(-1) for i, p in enumerate(picked)] + [x.reshape(-1)[:1]])

    check_grad(f, [randn(rng, (3, 5), device)])


def test_second_derivative_goes_through_cat(device, rng):
    x = randn(rng, (4, 3), device)
    a, b = x.split([1, 3])
    (g,) = tg.autograd.grad((b ** 3).sum(), x, create_graph=True)
    assert g.grad_fn.name() == "CatBackward0"
    g.sum().backward()
    want = 6 * x.detach().cpu().numpy()
    want[0] = 0
    np.testing.assert_allclose(x.grad.cpu().numpy(), want, rtol=1e-12)


def test_hooks_and_retain_grad_of_pieces(device, rng):
    x = randn(rng, (5, 2), device)
    p = x.split(2)
    p[0].retain_grad()
    p[1].register_hook(lambda g: g * 10)
    (p[0].sum() + p[1].sum()).backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [[1, 1], [1, 1], [10, 10], [10, 10], [0, 0]])
    np.testing.assert_array_equal(p[0].grad.cpu().numpy(), np.ones((2, 2)))


INPLACE = {
    "piece_of_leaf": lambda L, x, w: x.split(2)[0].mul_(2),
    "second_piece": lambda L, x, w: x.clone().split(2)[1].add_(1),
    "unbind": lambda L, x, w: x.clone().unbind(1)[1].zero_(),
    "view_of_piece": lambda L, x, w: x.clone().chunk(2)[0][0].fill_(1.0),
    "copy_into_piece": lambda L, x, w: x.clone().split([1, 4])[1][:2].copy_(w),
    "grad_operand": lambda L, x, w: x.detach().clone().split(2)[0].mul_(w),
    "base_written": lambda L, x, w: _base_written(x),
}


def _base_written(x):
    y = x.clone()
    p = y.split(2)
    y.add_(1)
    p[1].sum().backward()


@pytest.mark.parametrize("case", INPLACE)
def test_writing_a_piece_in_place_raises_pytorchs_error(case, torch, rng):
    data, wd = rng.standard_normal((5, 3)), rng.standard_normal((2, 3))
    got = _error(lambda: INPLACE[case](tg, tg.tensor(data, requires_grad=True), tg.tensor(wd, requires_grad=True)))
    want = _error(lambda: INPLACE[case](torch, torch.tensor(data, requires_grad=True),
                                        torch.tensor(wd, requires_grad=True)))
    assert want is not None and got == want


def test_pieces_may_be_written_without_autograd(device, rng):
    y = randn(rng, (5, 3), device, requires_grad=False)
    before = y.cpu().numpy().copy()
    p = y.split(2)
    p[0].mul_(2)  # nothing requires grad: allowed (PyTorch)
    with tg.no_grad():
        x = randn(rng, (5, 3), device).clone()
        x.split(2)[1].zero_()
    before[:2] *= 2
    np.testing.assert_array_equal(y.cpu().numpy(), before)
    assert p[0]._version == y._version == 1 and not x[2:4].any().item()
    y.tensor_split(2)[0].requires_grad_(False)  # tensor_split's pieces are ordinary views: written in place
    z = randn(rng, (4,), device).clone()
    z.tensor_split(2)[1].mul_(3)
    assert z.grad_fn.name() == "torch::autograd::CopySlices"


BAD = {
    "sections_zero": lambda L, x: x.tensor_split(0),
    "zero_dim": lambda L, x: x.sum().tensor_split(2),
    "float_indices": lambda L, x: x.tensor_split(L.tensor([1.0, 2.0])),
    "two_dim_indices": lambda L, x: x.tensor_split(L.tensor([[1, 2]])),
    "dim": lambda L, x: x.tensor_split(2, dim=2),
    "hsplit_divisible": lambda L, x: L.hsplit(x, 2),
    "vsplit_ndim": lambda L, x: L.vsplit(x[0], 1),
    "dsplit_ndim": lambda L, x: x.dsplit(1),
    "hsplit_zero_dim": lambda L, x: L.hsplit(x.sum(), 1),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_arguments_raise_pytorchs_errors(case, torch, rng):
    data = rng.standard_normal((4, 5))
    got, want = _error(lambda: BAD[case](tg, tg.tensor(data))), _error(lambda: BAD[case](torch, torch.tensor(data)))
    assert want is not None and got == want


def test_tensor_split_takes_a_tensor_of_sections_or_indices(torch, rng):
    data = rng.standard_normal(7)
    for arg in ([1, 3], 3):
        ours = tg.tensor(data).tensor_split(tg.tensor(arg))
        theirs = torch.tensor(data).tensor_split(torch.tensor(arg))
        assert [p.tolist() for p in ours] == [p.tolist() for p in theirs]
