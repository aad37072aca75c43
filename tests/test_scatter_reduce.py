"""scatter_reduce / scatter_reduce_ (sum, prod, mean, amax, amin; include_self) and scatter's deprecated
`reduce=` ('add', 'multiply'): values, gradients and errors against PyTorch, gradients against float64
finite differences, on both devices (the CUDA kernel is deterministic: the CPU's bits)."""
import re

import numpy as np
import pytest
from helpers import check_grad

import tritongrad as tg

REDUCES = ["sum", "prod", "mean", "amax", "amin"]
# index (3, 4) into self (4, 5) along dim 0, repeats and an untouched row and column
INDEX = [[0, 1, 0, 3], [0, 0, 3, 1], [1, 0, 3, 3]]


def _data(rng):
    x, src = rng.standard_normal((4, 5)), rng.standard_normal((3, 4))
    src[0, 1] = src[2, 2] = 0.0  # zeros for prod's derivative: one alone, one beside others
    src[1, 2] = 0.0
    src[2, 3] = x[3, 3]  # a tie with self for amax / amin's shared gradient
    return x, src


def _both(torch, x, src, dev, fn, requires_grad=True):
    ours = [tg.tensor(a, device=dev, requires_grad=requires_grad) for a in (x, src)]
    theirs = [torch.tensor(a, requires_grad=requires_grad) for a in (x, src)]
    return (fn(tg, *ours, tg.tensor(INDEX, device=dev)), ours), (fn(torch, *theirs, torch.tensor(INDEX)), theirs)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCES)
def test_values_and_gradients_match_pytorch(device, torch, rng, reduce, include_self):
    x, src = _data(rng)
    w = rng.standard_normal((4, 5))
    (y, ours), (ty, theirs) = _both(torch, x, src, device, lambda L, a, s, i: a.scatter_reduce(
        0, i, s, reduce, include_self=include_self))
    np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-14, atol=1e-15)
    assert y.grad_fn.name() == ty.grad_fn.name() == "ScatterReduceBackward0"
    node = y.grad_fn
    assert (node._saved_reduce, node._saved_include_self, node._saved_dim) == (reduce, include_self, 0)
    assert node._saved_index.tolist() == INDEX and node._saved_result is not None
    (y * tg.tensor(w, device=device)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduce", REDUCES)
def test_gradients_match_finite_differences(device, rng, reduce):
    x = rng.standard_normal((4, 3))
    src = rng.standard_normal((2, 5))  # NOTE: src larger than the index: its other elements get zero gradient
    args = [tg.tensor(a, device=device, requires_grad=True) for a in (x, src)]
    for include_self in (True, False):
        for a in args:
            a.grad = None
        check_grad(lambda a, s, inc=include_self: a.scatter_reduce(
            0, tg.tensor([[2, 0, 2], [2, 3, 0]], device=a.device), s, reduce, include_self=inc) * 1.5, args)


def test_second_derivative_of_prod(device, rng):
    x = rng.standard_normal((3, 2))
    src = rng.standard_normal((4, 2))
    idx = tg.tensor([[0, 1], [0, 0], [2, 1], [0, 1]], device=device)
    a, s = (tg.tensor(v, device=device, requires_grad=True) for v in (x, src))
    ga, gs = tg.autograd.grad(a.scatter_reduce(0, idx, s, "prod").sum(), (a, s), create_graph=True)
    (ga.sum() + gs.sum()).backward()

    def first(xv, sv):
        xs, ss = tg.tensor(xv, requires_grad=True), tg.tensor(sv, requires_grad=True)
        g1, g2 = tg.autograd.grad(xs.scatter_reduce(0, tg.tensor([[0, 1], [0, 0], [2, 1], [0, 1]]), ss, "prod").sum(),
                                  (xs, ss))
        return (g1.sum() + g2.sum()).item()

    eps = 1e-6
    for t, base in ((a, x), (s, src)):
        want = np.zeros_like(base)
        for k in np.ndindex(base.shape):
            hi, lo = base.copy(), base.copy()
            hi[k] += eps
            lo[k] -= eps
            pair = ((hi, src), (lo, src)) if t is a else ((x, hi), (x, lo))
            want[k] = (first(*pair[0]) - first(*pair[1])) / (2 * eps)
        np.testing.assert_allclose(t.grad.cpu().numpy(), want, rtol=1e-5, atol=1e-6)


def test_integers_nan_and_signed_zero_match_pytorch(device, torch):
    cases = [
        lambda L, d: L.tensor([5, 7, 9], device=d).scatter_reduce(0, L.tensor([0, 0, 1], device=d),
                                                                   L.tensor([-2, -3, 4], device=d), "mean",
                                                                   include_self=False),
        lambda L, d: L.tensor([5, -7, 9], device=d).scatter_reduce(0, L.tensor([0, 1, 1], device=d),
                                                                    L.tensor([2, 3, 4], device=d), "mean"),
        lambda L, d: L.tensor([5, 7, 9], device=d).scatter_reduce(0, L.tensor([0, 0, 2], device=d),
                                                                   L.tensor([2, 3, 4], device=d), "amin",
                                                                   include_self=False),
        lambda L, d: L.tensor([5.0, 7, 9], device=d).scatter_reduce(0, L.tensor([0, 0, 1], device=d),
                                                                     L.tensor([2.0, float("nan"), 4], device=d),
                                                                     "amax"),
        lambda L, d: L.tensor([5.0, 7, 9], device=d).scatter_reduce(0, L.tensor([0, 0, 1], device=d),
                                                                     L.tensor([-0.0, -0.0, 4], device=d), "sum",
                                                                     include_self=False),
    ]
    for fn in cases:
        got, want = fn(tg, device).cpu().numpy(), fn(torch, "cpu").numpy()
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))


def test_in_place_and_the_deprecated_reduce_of_scatter(device, torch, rng):
    x, src = _data(rng)
    for reduce in ("add", "multiply"):
        with pytest.warns(UserWarning, match="The reduce argument of torch.scatter with Tensor src is deprecated"):
            (y, _), (ty, _) = _both(torch, x, src, device, lambda L, a, s, i, r=reduce: a.scatter(0, i, s, reduce=r))
        np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-14)
        assert y.grad_fn.name() == ty.grad_fn.name() == "torch::autograd::NotImplemented"
        with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
            y.sum().backward()
        (y, _), (ty, _) = _both(torch, x, src, device, lambda L, a, s, i, r=reduce: a.clone().scatter_(
            0, i, 1.5, reduce=r), requires_grad=False)
        np.testing.assert_allclose(y.cpu().numpy(), ty.numpy(), rtol=1e-14)
    (y, ours), (ty, _) = _both(torch, x, src, device, lambda L, a, s, i: a.scatter_reduce_(0, i, s, "amax"),
                               requires_grad=False)
    assert y is ours[0] and y._version == 1
    np.testing.assert_array_equal(y.cpu().numpy(), ty.numpy())
    a = tg.tensor(x, device=device, requires_grad=True)
    b = a * 2
    b.scatter_reduce_(0, tg.tensor(INDEX, device=device), tg.tensor(src, device=device), "mean", include_self=False)
    assert b.grad_fn.name() == "ScatterReduceBackward0"


BAD = {
    "reduce_name": lambda L, a, s, i: a.scatter_reduce(0, i, s, "add"),
    "legacy_reduce_name": lambda L, a, s, i: a.scatter(0, i, s, reduce="mean"),
    "out_of_range": lambda L, a, s, i: a.scatter_reduce(0, i + 3, s, "sum"),
    "index_dtype": lambda L, a, s, i: a.scatter_reduce(0, i.double(), s, "sum"),
    "src_dtype": lambda L, a, s, i: a.scatter_reduce(0, i, s.float(), "prod"),
    "src_smaller": lambda L, a, s, i: a.scatter_reduce(0, i, s[:1], "amin"),
    "bool_mean": lambda L, a, s, i: (a > 0).scatter_reduce(0, i, s > 0, "mean"),
    "leaf_in_place": lambda L, a, s, i: a.scatter_reduce_(0, i, s, "sum"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_arguments_raise_pytorchs_errors_before_writing(case, torch, rng):
    x, src = _data(rng)
    a, s = tg.tensor(x, requires_grad=True), tg.tensor(src)
    with pytest.raises(Exception) as got:
        BAD[case](tg, a, s, tg.tensor(INDEX))
    with pytest.raises(Exception) as want:
        BAD[case](torch, torch.tensor(x, requires_grad=True), torch.tensor(src), torch.tensor(INDEX))
    assert type(got.value) is type(want.value) and str(got.value) == str(want.value)
    np.testing.assert_array_equal(a.detach().numpy(), x)


@pytest.mark.parametrize("method", [True, False])
def test_parser_errors_match_pytorch(method, torch):
    """scatter_reduce(int dim, Tensor index, Tensor src, str reduce, *, bool include_self): PyTorch's
    parser's TypeErrors come first (their texts without the argument's position)."""
    def call(lib, *args, **kw):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
        return x.scatter_reduce(*args, **kw) if method else lib.scatter_reduce(x, *args, **kw)

    idx, src = [[0, 1]], [[5.0, 6.0]]
    bad = [((0.5, "i", "s", "sum"), {}), ((0, [[0, 1]], "s", "sum"), {}),
           ((0, "i", 2.0, "sum"), {}), ((0, "i", "s", 3), {}), ((0, "i", "s", "sum"), {"include_self": 1})]
    for args, kw in bad:
        errors = []
        for lib in (tg, torch):
            t = {"i": lib.tensor(idx), "s": lib.tensor(src)}
            with pytest.raises(Exception) as info:
                call(lib, *[t.get(a, a) if isinstance(a, str) and a in t else a for a in args], **kw)
            errors.append(info.value)
        ours, theirs = errors
        assert type(ours) is type(theirs) is TypeError, (args, kw, ours, theirs)
        assert re.sub(r" \(position \d\)", "", str(theirs)) == str(ours), (args, kw)
