"""The math ops (ops/math.py, stats.py, sort.py, contract.py) against PyTorch on both devices: values,
gradients, grad_fn names, dtypes and errors; issue 19's NaN / inf gradients and bool operands.
(Float64 finite differences of every row: tests/test_formulas.py.)"""
import math

import numpy as np
import pytest

import tritongrad as tg

NAN, INF = float("nan"), float("inf")


def _pair(torch, a, device, dtype="float64", requires_grad=True):
    """The same values as a tritongrad and a PyTorch tensor."""
    a = np.asarray(a, dtype=dtype)
    return (tg.tensor(a, device=device, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def _close(got, want, rtol=1e-10, atol=1e-12):
    got = got.detach().cpu().numpy() if isinstance(got, tg.Tensor) else got
    want = want.detach().numpy() if hasattr(want, "detach") else want
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


def _check(torch, device, fn, *arrays, names=None, rtol=1e-10, atol=1e-12, grad=True):
    """fn on tritongrad and on PyTorch tensors holding `arrays`: values, grad_fn name, gradients."""
    pairs = [_pair(torch, a, device, requires_grad=grad) for a in arrays]
    ours = fn(tg, *[p[0] for p in pairs])
    theirs = fn(torch, *[p[1] for p in pairs])
    _close(ours, theirs, rtol, atol)
    if not grad:
        return
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    w = np.random.default_rng(7).standard_normal(theirs.shape)
    (ours * tg.tensor(w, device=device)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    for (a, b) in pairs:
        _close(a.grad, b.grad, rtol, atol)


def _same_error(torch, device, fn):
    """fn raises on both, the same type with the same message."""
    with pytest.raises(Exception) as want:
        fn(torch, "cpu")
    with pytest.raises(type(want.value)) as got:
        fn(tg, device)
    assert str(got.value) == str(want.value)


def _numbered(prefix):
    """Test ids prefix0, prefix1, ... for a list of lambdas."""
    count = iter(range(10**6))
    return lambda _: f"{prefix}{next(count)}"


RNG = np.random.default_rng(0)
X = RNG.standard_normal((33, 65))
UNARY = {  # name -> (input, rtol): domains kept inside each function's own
    "tan": (X, 1e-12), "asin": (np.tanh(X), 1e-12), "acos": (np.tanh(X), 1e-12), "atan": (X * 3, 1e-14),
    "sinh": (X * 3, 1e-13), "cosh": (X * 3, 1e-13), "log2": (np.abs(X) + 0.1, 1e-14),
    "log10": (np.abs(X) + 0.1, 1e-14), "exp2": (X * 3, 1e-14), "rsqrt": (np.abs(X) + 0.1, 1e-14),
    "erf": (X, 1e-13), "floor": (X * 3, 0), "ceil": (X * 3, 0), "round": (X * 3, 0), "trunc": (X * 3, 0),
    "frac": (X * 3, 1e-14), "sign": (X, 0), "reciprocal": (X, 1e-14),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops_match_pytorch(device, torch, name):
    x, rtol = UNARY[name]
    _check(torch, device, lambda m, t: getattr(m, name)(t), x, rtol=rtol, atol=1e-14)
    t32, tt32 = _pair(torch, x, device, "float32", False)
    _close(getattr(t32, name)(), getattr(tt32, name)(), rtol=2e-6, atol=1e-6)  # NOTE: fp32 ulps of the libm


def test_special_values_match_pytorch(device, torch):
    v = np.array([NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, -2.5, 1e-30, 1e30, 1e-310])
    for name in ("tan", "asin", "acos", "atan", "sinh", "cosh", "log2", "log10", "exp2", "rsqrt", "erf",
                 "floor", "ceil", "round", "trunc", "frac", "sign", "isnan", "isinf", "isfinite", "nan_to_num"):
        a, b = _pair(torch, v, device, requires_grad=False)
        _close(getattr(a, name)(), getattr(b, name)(), rtol=1e-13, atol=0)
    y, x = np.meshgrid(v, v)
    (a, ta), (b, tb) = _pair(torch, y, device, requires_grad=False), _pair(torch, x, device, requires_grad=False)
    _close(tg.atan2(a, b), torch.atan2(ta, tb), rtol=1e-15, atol=0)
    got, want = tg.atan2(a, b).cpu().numpy(), torch.atan2(ta, tb).numpy()
    signed = ~np.isnan(want)
    assert np.array_equal(np.signbit(got[signed]), np.signbit(want[signed]))  # atan2(-0, x) is -0


def test_integer_inputs_promote_or_stay_as_pytorch(device, torch):
    i = [[3, -2], [0, 7]]
    for fn in (lambda m, t: t.tan(), lambda m, t: t.floor(), lambda m, t: t.round(), lambda m, t: m.atan2(t, t),
               lambda m, t: t.isnan(), lambda m, t: t.isfinite(), lambda m, t: t.nan_to_num(),
               lambda m, t: t.prod(), lambda m, t: t.prod(1), lambda m, t: t.cumsum(0), lambda m, t: t.logsumexp(1),
               lambda m, t: t.sort().values, lambda m, t: t.sort(0, True).indices, lambda m, t: m.dot(t[0], t[1])):
        a, b = _pair(torch, i, device, "int64", False)
        _close(fn(tg, a), fn(torch, b), rtol=1e-6, atol=1e-6)
    if device == "cpu":  # NOTE: CUDA's message names frac_cuda, PyTorch's CPU one frac_cpu
        _same_error(torch, device, lambda m, d: m.tensor([1, 2], device=d).frac())


def test_binary_and_ternary_ops_broadcast_as_pytorch(device, torch):
    a, b, w = RNG.standard_normal((33, 1, 5)), RNG.standard_normal((7, 1)), RNG.random((5,))
    _check(torch, device, lambda m, x, y: m.atan2(x, y), a, b)
    _check(torch, device, lambda m, x, y: m.lerp(x, y, 0.3), a, b)
    _check(torch, device, lambda m, x, y: m.lerp(x, y, 0.8), a, b)
    _check(torch, device, lambda m, x, y, z: m.lerp(x, y, z), a, b, w)
    v = np.array([NAN, INF, -INF, 1.5])
    _check(torch, device, lambda m, x: m.nan_to_num(x), v)
    _check(torch, device, lambda m, x: x.nan_to_num(1.0, 2.0, -3.0), v)
    _same_error(torch, device, lambda m, d: m.lerp(m.ones(2, device=d), m.ones(2, device=d, dtype=m.float64), 0.5))


@pytest.mark.parametrize("fn", [
    lambda m, t: t.norm(), lambda m, t: t.norm(p=1), lambda m, t: t.norm(p=float("inf")),
    lambda m, t: t.norm(dim=1), lambda m, t: t.norm(2, 0, True), lambda m, t: m.linalg.vector_norm(t, 1, (0, 1)),
    lambda m, t: m.linalg.vector_norm(t, float("inf"), -1, keepdim=True), lambda m, t: m.linalg.norm(t),
    lambda m, t: m.linalg.norm(t, dim=0), lambda m, t: m.linalg.norm(t, "fro"),
    lambda m, t: t.std(), lambda m, t: t.std(1), lambda m, t: t.std(1, unbiased=False),
    lambda m, t: t.std(dim=0, correction=0, keepdim=True), lambda m, t: t.var(), lambda m, t: t.var(0),
    lambda m, t: m.var(t, 1, True, True), lambda m, t: t.var((0, 1), correction=2), lambda m, t: t.std(False),
    lambda m, t: t.logsumexp(1), lambda m, t: m.logsumexp(t, (0, 1), keepdim=True), lambda m, t: t.prod(),
    lambda m, t: t.prod(1), lambda m, t: t.prod(0, keepdim=True), lambda m, t: t.cumsum(1),
    lambda m, t: m.cumsum(t, dim=0), lambda m, t: t.sum(1, keepdims=True), lambda m, t: t.mean(axis=0),
    lambda m, t: t.max(1, keepdims=True).values, lambda m, t: m.sum(t, axis=1, keepdims=True),
    lambda m, t: m.mean(t, keepdims=True, dim=(0, 1)), lambda m, t: t.sum(dim=0, dtype=m.float64),
    lambda m, t: t.amax(axis=1, keepdims=True), lambda m, t: t.amin(axis=0), lambda m, t: t.std(axis=1),
    lambda m, t: t.softmax(axis=0), lambda m, t: t.log_softmax(axis=1), lambda m, t: t.sort(axis=0).values,
    lambda m, t: t.sort(axis=1, descending=True, stable=True).values,
], ids=_numbered("reduction"))

def test_reductions_match_pytorch(device, torch, fn):
    x = RNG.standard_normal((9, 17) if device == "cuda" else (33, 65))
    x[2, 3] = 0.0  # prod: one zero in a row and a column
    x[4, :2] = 0.0  # two zeros in a row
    _check(torch, device, fn, x, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("call", ["t.mean(dim=0, axis=0)", "t.sum(0, axis=1)", "m.sum(t, dim=0, axis=0)",
                                  "t.mean(0, keepdim=True, keepdims=True)", "t.std(dim=0, axis=0)",
                                  "t.amax(dim=0, axis=0)", "t.norm(axis=0)"])
def test_numpy_spelling_beside_pytorchs_is_refused(device, torch, call):
    """axis= beside dim= (keepdims= beside keepdim=) is PyTorch's TypeError, not one winning silently;
    Tensor.norm takes no NumPy spelling at all. The text is PyTorch's where it names the keyword (std's
    lists its overloads instead)."""
    errors = []
    for m in (tg, torch):
        t = m.ones(3, 2, device=device if m is tg else "cpu")
        with pytest.raises(TypeError) as e:
            eval(call, {"t": t, "m": m})
        errors.append(str(e.value))
    if "unexpected keyword" in errors[1]:
        assert errors[0].endswith(errors[1].split("() ")[-1])


@pytest.mark.parametrize("ord", [1, 2, INF])
def test_norms_split_across_programs_as_in_one(device, ord):
    """Long reductions split R across programs (two launches, kernels/reduction.py): the norms' stages."""
    be = tg.backends.get(device)
    x = RNG.standard_normal(5000)
    if device == "cuda":
        from tritongrad.kernels import reduction as RED

        got = be.to_numpy(RED.reduce(MO_NORMS[ord], be.from_numpy(x), (), False, _split=3))
    else:
        got = be.vector_norm(x, ord, (), False)
    np.testing.assert_allclose(got, np.linalg.norm(x, ord), rtol=1e-12)


MO_NORMS = {1: "norm1", 2: "norm2", INF: "norminf"}


def test_reduction_edge_cases(device, torch):
    _check(torch, device, lambda m, t: t.norm(), np.zeros((3, 2)))  # the gradient at 0 is 0
    _check(torch, device, lambda m, t: t.std(1), np.ones((3, 4)))  # std 0: gradient 0
    _check(torch, device, lambda m, t: t.logsumexp(1), [[-INF, -INF], [1.0, -INF]])
    _check(torch, device, lambda m, t: t.norm(p=float("inf")), [[1.0, -3.0], [3.0, 2.0]])  # ties share
    _check(torch, device, lambda m, t: t.cumsum(0), 2.5)
    _same_error(torch, device, lambda m, d: m.zeros(0, device=d).norm(p=float("inf")))
    _same_error(torch, device, lambda m, d: m.linalg.vector_norm(m.ones(2, dtype=m.int64, device=d)))
    _same_error(torch, device, lambda m, d: m.ones(2, dtype=m.int64, device=d).var())
    _same_error(torch, device, lambda m, d: m.tensor(2.0, device=d).cumsum(1))
    _same_error(torch, device, lambda m, d: m.linalg.norm(m.ones(2, 2, 2, device=d), 1))
    _check(torch, device, lambda m, t: m.linalg.norm(t, 2), [[1.0, -3.0], [3.0, 2.0]])  # tests/test_svd_norms.py
    x = tg.tensor([[1.0, -3.0], [3.0, 2.0]], device=device)
    assert tg.linalg.norm(x, 1).item() == 5.0 and tg.linalg.norm(x, float("inf")).item() == 5.0


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_sort_argsort_topk_match_pytorch(device, torch, dtype):
    x = (RNG.standard_normal((5, 9)) * 3).astype(dtype)
    x[1, :4] = x[1, 5]  # ties keep index order (stable)
    if dtype != "int64":
        x[2, 3], x[3, 1], x[0, 0] = NAN, -0.0, 0.0
    a, b = _pair(torch, x, device, dtype, False)
    for fn, dim, stable in ((lambda t: t.sort(stable=True), 1, True),
                            (lambda t: t.sort(dim=0, descending=True, stable=True), 0, True),
                            (lambda t: t.sort(descending=True, stable=True), 1, True), (lambda t: t.topk(3), 1, False),
                            (lambda t: t.topk(2, 0, False), 0, False), (lambda t: t.topk(9, largest=False), 1, False)):
        ours, theirs = fn(a), fn(b)
        _close(ours.values, theirs.values, 0, 0)
        if stable:  # NOTE: ours is always stable; PyTorch's topk orders ties as it likes
            _close(ours.indices, theirs.indices, 0, 0)
        else:  # the indices name the values
            got = np.take_along_axis(x, ours.indices.cpu().numpy(), dim)
            np.testing.assert_array_equal(got, theirs.values.numpy())
    _close(a.argsort(), b.argsort(stable=True), 0, 0)
    _close(tg.argsort(a, 0, True), torch.argsort(b, dim=0, descending=True, stable=True), 0, 0)


def test_sort_gradients_and_errors(device, torch):
    x = RNG.standard_normal((5, 9))
    _check(torch, device, lambda m, t: t.sort(1).values, x)
    _check(torch, device, lambda m, t: t.sort(dim=0, descending=True, stable=True).values, x)
    _check(torch, device, lambda m, t: t.topk(3).values, x)
    _check(torch, device, lambda m, t: t.topk(2, 0, largest=False).values, x)
    _check(torch, device, lambda m, t: t.sort().values, 3.0)
    _same_error(torch, device, lambda m, d: m.zeros(3, device=d).topk(4))
    _same_error(torch, device, lambda m, d: m.tensor(2.0, device=d).sort(dim=1))
    empty = tg.zeros(2, 0, device=device).sort()
    assert empty.values.shape == (2, 0) and empty.indices.dtype == tg.int64
    b = tg.tensor([True, False, True], device=device).sort()
    assert b.values.tolist() == [False, True, True] and b.indices.tolist() == [1, 0, 2]


def test_products_match_pytorch(device, torch):
    a, v, w = RNG.standard_normal((3, 4)), RNG.standard_normal(4), RNG.standard_normal(5)
    _check(torch, device, lambda m, x, y: m.dot(x[0], y), a, v)
    _check(torch, device, lambda m, x, y: x.mv(y), a, v)
    _check(torch, device, lambda m, x, y: m.outer(x, y), v, w)
    b1, b2 = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 4, 5))
    _check(torch, device, lambda m, x, y: m.bmm(x, y), b1, b2)


@pytest.mark.parametrize("eq, shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("i,i->", [(4,), (4,)]),
    ("ij->ji", [(3, 4)]), ("ij,kj", [(3, 4), (2, 4)]), ("i,j", [(2,), (3,)]), ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]), ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("ij,kj->ik", [(3, 4), (1, 4)]), ("ba,ca", [(3, 4), (2, 4)]),
    ("bij->b", [(2, 3, 4)]),
])
def test_einsum_matches_pytorch(device, torch, eq, shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    pairs = [_pair(torch, a, device) for a in arrays]
    ours, theirs = tg.einsum(eq, *[p[0] for p in pairs]), torch.einsum(eq, *[p[1] for p in pairs])
    _close(ours, theirs)
    w = RNG.standard_normal(theirs.shape)
    (ours * tg.tensor(w, device=device)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    for a, b in pairs:
        _close(a.grad, b.grad)


@pytest.mark.parametrize("fn", [
    lambda m, d: m.dot(m.ones(2, 2, device=d), m.ones(2, 2, device=d)),
    lambda m, d: m.dot(m.ones(4, device=d), m.ones(3, device=d)),
    lambda m, d: m.dot(m.ones(4, device=d), m.ones(4, device=d, dtype=m.float64)),
    lambda m, d: m.mv(m.ones(3, 4, device=d), m.ones(3, device=d)),
    lambda m, d: m.mv(m.ones(4, device=d), m.ones(4, device=d)),
    lambda m, d: m.mv(m.ones(3, 4, device=d), m.ones(4, device=d, dtype=m.float64)),
    lambda m, d: m.bmm(m.ones(3, 4, device=d), m.ones(3, 4, device=d)),
    lambda m, d: m.bmm(m.ones(2, 3, 4, device=d), m.ones(3, 4, 5, device=d)),
    lambda m, d: m.bmm(m.ones(2, 3, 4, device=d), m.ones(2, 5, 5, device=d)),
    lambda m, d: m.bmm(m.ones(2, 3, 4, device=d), m.ones(2, 4, 5, device=d, dtype=m.float64)),
    lambda m, d: m.outer(m.ones(2, 2, device=d), m.ones(2, device=d)),
    lambda m, d: m.einsum("ij,jk", m.ones(2, 3, device=d), m.ones(4, 4, device=d)),
    lambda m, d: m.einsum("ij,jk->ik", m.ones(2, 3, device=d)),
    lambda m, d: m.einsum("ij,jk->iz", m.ones(2, 3, device=d), m.ones(3, 4, device=d)),
    lambda m, d: m.einsum("ijk,jk->ik", m.ones(2, 3, device=d), m.ones(3, 4, device=d)),
    lambda m, d: m.ones(3, device=d).isclose(m.ones(3, device=d, dtype=m.float64)),
    lambda m, d: m.isclose(m.ones(3, device=d), m.ones(3, device=d), -0.5),
    lambda m, d: m.ones(3, device=d).allclose(m.ones(3, device=d), atol=-1e-3),
    lambda m, d: m.einsum(),
    lambda m, d: m.einsum(m.ones(3, device=d)),
], ids=_numbered("error"))
def test_product_errors_match_pytorch(device, torch, fn):
    _same_error(torch, device, fn)


def test_issue19_nan_and_inf_gradients_match_pytorch(device, torch):
    v = [[1.0, NAN, 3.0, NAN], [2.0, 0.0, -1.0, 5.0]]
    _check(torch, device, lambda m, t: t.max(), v)
    _check(torch, device, lambda m, t: t.min(), v)
    _check(torch, device, lambda m, t: t.max(1).values, v)
    _check(torch, device, lambda m, t: t.relu(), v)
    _check(torch, device, lambda m, t: t.abs(), v)
    _check(torch, device, lambda m, t: t.sign(), v)
    other = [[NAN, 1.0, 3.0, 0.0], [2.0, NAN, 1.0, 5.0]]
    _check(torch, device, lambda m, t, u: m.maximum(t, u), v, other)
    _check(torch, device, lambda m, t, u: m.minimum(t, u), v, other)
    base, exp = [0.0, 0.0, 0.0, 2.0, 0.0], [0.0, 2.0, -1.0, 0.0, 0.5]
    _check(torch, device, lambda m, t, u: t ** u, base, exp)  # 0 ** 0, 0 ** 2, 0 ** -1, 2 ** 0
    _check(torch, device, lambda m, t: 0.0 ** t, exp)
    _check(torch, device, lambda m, t: t ** 0, base)


@pytest.mark.parametrize("fn", [
    lambda m, d: m.tensor([True, False], device=d) & 1, lambda m, d: m.tensor([True, False], device=d) | 2,
    lambda m, d: m.tensor([True, False], device=d) ^ 1,
    lambda m, d: m.tensor([True, False], device=d) & m.tensor([True, True], device=d),
    lambda m, d: m.tensor([1, 2], device=d) & m.tensor([True, False], device=d),
    lambda m, d: m.tensor([1, 6], device=d, dtype=m.int32) | 1,
    lambda m, d: m.tensor([True, False], device=d) ** 2, lambda m, d: 2 ** m.tensor([True, False], device=d),
    lambda m, d: m.tensor(1.0, device=d).sum(0), lambda m, d: m.tensor(1.0, device=d).mean(-1),
    lambda m, d: m.ones(2, 3, device=d).argmax(keepdims=True),
], ids=_numbered("promote"))
def test_issue19_bool_operands_promote_as_pytorch(device, torch, fn):
    ours, theirs = fn(tg, device), fn(torch, "cpu")
    assert ours.dtype.name == str(theirs.dtype).split(".")[1] and ours.tolist() == theirs.tolist()


@pytest.mark.parametrize("fn", [
    lambda m, d: m.tensor([True, False], device=d) & 1.5,
    lambda m, d: m.tensor([True], device=d) | m.tensor([1.0], device=d),
    lambda m, d: m.tensor([1, 2], device=d) ^ 1.0,
    lambda m, d: m.tensor([True], device=d).relu(), lambda m, d: m.nn.functional.relu(m.tensor([True], device=d)),
    lambda m, d: m.tensor([True], device=d).abs(), lambda m, d: m.tensor([True], device=d).argmax(),
    lambda m, d: m.tensor([True], device=d).argmin(0),
    lambda m, d: m.ones(2, 2, dtype=m.bool, device=d) @ m.ones(2, 2, dtype=m.bool, device=d),
    lambda m, d: m.ones(2, 2, dtype=m.bool, device=d) @ m.ones(2, dtype=m.bool, device=d),
    lambda m, d: m.ones(2, dtype=m.bool, device=d) @ m.ones(2, dtype=m.bool, device=d),
    lambda m, d: m.tensor([True], device=d) ** m.tensor([True], device=d),
    lambda m, d: m.tensor(1.0, device=d).sum(1), lambda m, d: m.tensor(1.0, device=d).mean(1),
    lambda m, d: m.tensor(1.0, device=d).sum((0, 1)),
], ids=_numbered("raise"))
def test_issue19_bad_operands_raise_as_pytorch(device, torch, fn):
    with pytest.raises(Exception) as want:
        fn(torch, "cpu")
    with pytest.raises(type(want.value)) as got:
        fn(tg, device)
    if device == "cpu":  # NOTE: on CUDA PyTorch's messages name its CUDA kernels (abs_cuda, not abs_cpu)
        assert str(got.value) == str(want.value)


def test_softmax_methods_close_tests_and_constructors(device, torch):
    x = RNG.standard_normal((5, 7))
    _check(torch, device, lambda m, t: t.softmax(1), x)
    _check(torch, device, lambda m, t: m.log_softmax(t, 0), x)
    _check(torch, device, lambda m, t: m.softmax(t, -1), x)
    a = np.array([1.0, NAN, INF, -INF, 1e-9, 2.0])
    b = np.array([1.0 + 1e-7, NAN, INF, INF, 0.0, 2.1])
    (ta, tta), (tb, ttb) = _pair(torch, a, device, requires_grad=False), _pair(torch, b, device, requires_grad=False)
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.1}, {"atol": 0.0, "rtol": 0.0}):
        assert tg.isclose(ta, tb, **kw).tolist() == torch.isclose(tta, ttb, **kw).tolist()
        assert ta.allclose(tb, **kw) == torch.allclose(tta, ttb, **kw)
        assert tg.allclose(ta[:1], tb[:1], **kw) == torch.allclose(tta[:1], ttb[:1], **kw)
    nan, inf = tg.tensor(7.0, device=device), tg.tensor(-3.0, device=device)  # NOTE: 0-d tensors read as numbers
    assert ta.nan_to_num(nan, inf, inf).tolist() == tta.nan_to_num(7.0, -3.0, -3.0).tolist()
    assert tg.equal(ta[:1], ta[:1]) and not tg.equal(ta, tb) and not tg.equal(ta, ta[:2])
    for name in ("zeros", "ones", "empty", "rand", "randn"):
        assert getattr(tg, name)(size=(2, 3), device=device).shape == (2, 3)
        with pytest.raises(TypeError, match="multiple values for argument 'size'"):
            getattr(tg, name)(2, size=(2,))
    assert tg.full(size=(2,), fill_value=3.0).tolist() == [3.0, 3.0]
    assert math.isclose(tg.tensor([3.0, 4.0], device=device).norm().item(), 5.0)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "bool"])
def test_integer_reductions_keep_the_dtype_asked_for(device, torch, dtype):
    """sum / prod / cumsum of integers: int64 by default, and wrapped around in a narrower dtype asked for,
    as PyTorch (the backends accumulate in int64; NumPy alone would give uint64 for unsigned inputs)."""
    data = np.array([[200, 100, 7], [3, 250, 1]])
    calls = [("sum", {}), ("sum", {"dim": 0, "dtype": 1}), ("sum", {"dtype": 1}), ("prod", {}),
             ("prod", {"dtype": 1}), ("prod", {"dim": 1, "dtype": 1}), ("cumsum", {"dim": 1})]
    if dtype != "bool":
        calls.append(("cumsum", {"dim": 1, "dtype": 1}))
    for name, kw in calls:
        got = getattr(tg.tensor(data, dtype=getattr(tg, dtype), device=device), name)(
            **{k: getattr(tg, dtype) if k == "dtype" else v for k, v in kw.items()})
        want = getattr(torch.tensor(data, dtype=getattr(torch, dtype)), name)(
            **{k: getattr(torch, dtype) if k == "dtype" else v for k, v in kw.items()})
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (name, kw)
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


@pytest.mark.parametrize("shape,dim", [((0,), -1), ((2, 0), -1), ((0, 3), 0)])
def test_logsumexp_of_nothing_is_minus_inf(device, torch, shape, dim):
    for dtype in ("float32", "int32"):
        got = tg.ones(*shape, dtype=getattr(tg, dtype), device=device).logsumexp(dim, keepdim=True)
        want = torch.ones(*shape, dtype=getattr(torch, dtype)).logsumexp(dim, keepdim=True)
        assert tuple(got.shape) == tuple(want.shape) and got.dtype == tg.float32
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


@pytest.mark.parametrize("call", ["x.amax(-1)", "x.amax(0)", "x.amin((0,))", "x.norm(dim=-3)", "x.norm(1, 1)",
                                  "x.norm(dim=0)", "M.linalg.vector_norm(x, dim=(0, -1))", "x.sum(1)"])
def test_zero_dim_reductions_take_dim_0_or_minus_1(device, torch, call):
    """A 0-d tensor reduces over dim 0 or -1 (nothing) and refuses any other dim, as PyTorch: amax crashed
    on them and norm accepted any dim, returning a number for a call PyTorch refuses."""
    results = []
    for M, dev in ((tg, device), (torch, "cpu")):
        x = M.tensor(2.5, device=dev)
        try:
            results.append(float(eval(call, {"x": x, "M": M})))
        except (IndexError, RuntimeError) as e:
            results.append((type(e), str(e)))
    assert results[0] == results[1]


@pytest.mark.parametrize("call", ["x.sum((2, 0, 2))", "x.sum((0, -3))", "x.amax((1, 1))", "M.ones(()).flip(-1, 0, 3)",
                                  "x.sum((0, 0, 5))", "M.ones(()).sum((-1, 0, 3))", "M.ones(()).squeeze((-1, 0, 3))",
                                  "M.ones(()).count_nonzero((-1, 0, 3))", "x.count_nonzero((1, -2))",
                                  "x.flip(0, 2, -1)", "M.flip(x, -1)", "M.tile(x, 2)", "M.reshape(x, 24)"])
def test_dim_lists_fail_as_pytorchs(device, torch, call):
    """A repeated dim is named as PyTorch names it (the first repeat, wrapped): after every dim is range
    checked for reductions, as the walk meets it for flip and squeeze; the function forms of flip / tile /
    reshape take one sequence, not an int."""
    errors = []
    for M, dev in ((tg, device), (torch, "cpu")):
        x = M.ones(2, 3, 4, device=dev)
        with pytest.raises((RuntimeError, TypeError, IndexError)) as e:
            eval(call, {"x": x, "M": M})
        errors.append((type(e.value), str(e.value)))
    assert errors[0] == errors[1]
