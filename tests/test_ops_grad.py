"""Gradients of every differentiable op against float64 central finite differences (on each device),
values and gradients against PyTorch, and second derivatives (create_graph=True) against finite
differences of the first derivative.

NOTE: on the emulated CUDA device every kernel runs under Triton's interpreter (about 1 ms per
program instance): shapes stay small. Finite differences always run on the CPU.
"""
import numpy as np
import pytest
from helpers import TOL, check_grad

import tritongrad as tg

# NOTE: Triton's interpreter computes masked-off lanes too (log(0), 0/0): harmless warnings.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning:triton.*")

# Each entry: (name, fn(L, *inputs) for L = tritongrad or torch, input specs). A spec is a shape, or
# (shape, kind) with kind "pos" (uniform in [0.5, 2]) or "kinks" (kept 0.1 away from 0 and +-0.5, where
# relu, abs and clamp are not differentiable).
UNARY = [
    ("neg", lambda L, x: -x), ("neg_method", lambda L, x: x.neg()),
    ("square", lambda L, x: x.square()), ("sqrt", lambda L, x: x.sqrt(), "pos"),
    ("exp", lambda L, x: x.exp()), ("log", lambda L, x: x.log(), "pos"),
    ("abs", lambda L, x: x.abs(), "kinks"), ("relu", lambda L, x: x.relu(), "kinks"),
    ("clamp", lambda L, x: x.clamp(min=-0.5, max=0.5), "kinks"),
    ("clamp_pos", lambda L, x: x.clamp(-0.5, 0.5), "kinks"),
    ("clamp_min_kw", lambda L, x: x.clamp(min=0.5), "kinks"), ("clamp_max_kw", lambda L, x: x.clamp(max=-0.5), "kinks"),
    ("clamp_min", lambda L, x: x.clamp_min(0.5), "kinks"), ("sigmoid", lambda L, x: x.sigmoid()),
    ("tanh", lambda L, x: x.tanh()), ("pow_2", lambda L, x: x ** 2), ("pow_3", lambda L, x: x.pow(3)),
    ("pow_half", lambda L, x: x ** 0.5, "pos"), ("pow_neg", lambda L, x: x ** -1.5, "pos"),
    ("pow_0", lambda L, x: x ** 0 * x), ("rpow", lambda L, x: 2 ** x), ("rpow_float", lambda L, x: 0.5 ** x),
    ("add_scalar", lambda L, x: x + 2), ("radd_scalar", lambda L, x: 2.5 + x), ("sub_scalar", lambda L, x: x - 2),
    ("rsub_scalar", lambda L, x: 2.5 - x), ("mul_scalar", lambda L, x: x * 3), ("rmul_scalar", lambda L, x: -1.5 * x),
    ("div_scalar", lambda L, x: x / 4), ("rdiv_scalar", lambda L, x: 2 / x, "pos"),
    ("fn_exp", lambda L, x: L.exp(x)), ("fn_sigmoid", lambda L, x: L.sigmoid(x)),
]
UNARY_SHAPES = [(), (1,), (97,), (7, 13), (3, 1, 17)]

BINARY = [
    ("add", lambda L, a, b: a + b), ("add_alpha", lambda L, a, b: a.add(b, alpha=-2)),
    ("sub", lambda L, a, b: a - b), ("sub_alpha", lambda L, a, b: a.sub(b, alpha=0.5)),
    ("mul", lambda L, a, b: a * b), ("div", lambda L, a, b: a / b.abs().add(0.5)),
    ("pow_tensor", lambda L, a, b: a.abs().add(0.5) ** b), ("maximum", lambda L, a, b: a.maximum(b)),
    ("minimum", lambda L, a, b: L.minimum(a, b)), ("where", lambda L, a, b: L.where(a > b, a * 2, b)),
    ("where_scalar", lambda L, a, b: L.where(b > 0, a * b, 0.5)),
    ("clamp_tensor", lambda L, a, b: a.clamp(b - 0.5, b + 0.5)), ("clamp_min_tensor", lambda L, a, b: a.clamp_min(b)),
    ("clamp_max_tensor", lambda L, a, b: a.clamp(max=b)), ("clamp_crossed", lambda L, a, b: a.clamp(b + 0.5, b - 0.5)),
]
BINARY_SHAPES = [((97,), (97,)), ((7, 13), (13,)), ((3, 1, 17), (4, 17)), ((1,), (5, 3)), ((), (3,)),
                 ((2, 3), ())]

REDUCE = [
    ("sum", lambda L, x: x.sum()), ("sum_dim", lambda L, x: x.sum(1)), ("sum_neg_dim", lambda L, x: x.sum(-1)),
    ("sum_keepdim", lambda L, x: x.sum(0, keepdim=True)), ("sum_tuple", lambda L, x: x.sum((0, 2))),
    ("sum_tuple_keepdim", lambda L, x: x.sum((2, 1), keepdim=True)), ("mean", lambda L, x: x.mean()),
    ("mean_dim", lambda L, x: x.mean(2)), ("mean_tuple", lambda L, x: x.mean((0, 1))),
    ("mean_keepdim", lambda L, x: x.mean(-2, keepdim=True)), ("max", lambda L, x: x.max()),
    ("min", lambda L, x: x.min()), ("max_dim", lambda L, x: x.max(1)[0]),
    ("max_dim_keepdim", lambda L, x: x.max(2, keepdim=True).values), ("min_dim", lambda L, x: x.min(0).values),
    ("min_dim_neg", lambda L, x: x.min(-1)[0]),
]
REDUCE_SHAPE = (3, 5, 4)

MATMUL = [
    ("mm", lambda L, a, b: a.mm(b), (5, 3), (3, 4)), ("matmul_2d", lambda L, a, b: a @ b, (1, 7), (7, 2)),
    ("dot", lambda L, a, b: a @ b, (7,), (7,)), ("mv", lambda L, a, b: a @ b, (4, 7), (7,)),
    ("vm", lambda L, a, b: a.matmul(b), (7,), (7, 3)), ("bmm", lambda L, a, b: a @ b, (2, 3, 4), (2, 4, 5)),
    ("batch_2d", lambda L, a, b: a @ b, (2, 3, 4), (4, 5)), ("2d_batch", lambda L, a, b: a @ b, (3, 4), (2, 4, 5)),
    ("broadcast_batch", lambda L, a, b: a @ b, (2, 1, 3, 4), (5, 4, 2)),
    ("vec_batch", lambda L, a, b: a @ b, (4,), (2, 4, 3)), ("batch_vec", lambda L, a, b: a @ b, (2, 3, 4), (4,)),
    ("fn_matmul", lambda L, a, b: L.matmul(a, b), (3, 4), (4, 2)),
]


def make(rng, spec, device, L=tg):
    """A float64 leaf that requires grad, from a spec (see the table comment)."""
    shape, kind = (spec, None) if not spec or isinstance(spec[0], int) else spec
    a = rng.uniform(0.5, 2.0, size=shape) if kind == "pos" else rng.standard_normal(size=shape)
    if kind == "kinks":
        for k in (0.0, 0.5, -0.5):
            a = np.where(np.abs(a - k) < 0.1, a + 0.2 * np.sign(a - k + 1e-9), a)
    return a


def leaves(arrays, device, L=tg):
    kw = {"device": device} if L is tg else {}
    return [L.tensor(a, dtype=L.float64, requires_grad=True, **kw) for a in arrays]


def small(shape, device):
    """On the emulated CUDA device, awkward but small shapes keep the interpreter fast."""
    return device == "cpu" or int(np.prod(shape or (1,))) <= 2200


# --- gradients vs finite differences, on each device ---------------------------------------------
@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("op", UNARY, ids=[u[0] for u in UNARY])
def test_unary_grad(op, shape, device, rng):
    name, fn, *kind = op
    a = make(rng, (shape, kind[0] if kind else None), device)
    check_grad(lambda x: fn(tg, x), leaves([a], device))


def test_chain_of_ops_on_33x65(device, rng):
    """One larger, awkward shape through most ops at once (finite differences cost one pass per element)."""
    a, b = make(rng, ((33, 65), "kinks"), device), make(rng, (65,), device)

    def f(x, w):
        return ((x * w).sigmoid() + (x - w).tanh() * x.abs().sqrt() + (x / (w.abs() + 1)).relu() ** 2
                + x.clamp(-0.5, 0.5) * w.exp() + x.maximum(w) - (2 - x).minimum(w * 0.5) + tg.where(x > w, x, w))

    check_grad(f, leaves([a, b], device))


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("op", BINARY, ids=[b[0] for b in BINARY])
def test_binary_grad_broadcasting(op, shapes, device, rng):
    name, fn = op
    arrays = [make(rng, s, device) for s in shapes]  # NOTE: random normals: no ties, no a == b
    check_grad(lambda a, b: fn(tg, a, b), leaves(arrays, device))


@pytest.mark.parametrize("op", REDUCE, ids=[r[0] for r in REDUCE])
def test_reduction_grad(op, device, rng):
    name, fn = op
    check_grad(lambda x: fn(tg, x), leaves([make(rng, REDUCE_SHAPE, device)], device))


@pytest.mark.parametrize("shape", [(1,), (97,), (33, 65)], ids=str)
def test_reductions_of_awkward_shapes(shape, device, rng):
    x = leaves([make(rng, shape, device)], device)
    check_grad(lambda x: x.sum(0) * 2 + x.mean() + x.max() - x.min(), x)


@pytest.mark.parametrize("op", MATMUL, ids=[m[0] for m in MATMUL])
def test_matmul_grad(op, device, rng):
    name, fn, sa, sb = op
    check_grad(lambda a, b: fn(tg, a, b), leaves([make(rng, sa, device), make(rng, sb, device)], device))


def test_mm_awkward_shape(device, rng):
    shapes = ((33, 65), (65, 3)) if device == "cpu" else ((9, 17), (17, 3))
    check_grad(lambda a, b: a.mm(b), leaves([make(rng, s, device) for s in shapes], device))


def test_only_one_input_requires_grad(device, rng):
    a, b = leaves([make(rng, (4, 3), device), make(rng, (3,), device)], device)
    b.requires_grad_(False)
    (a * b + a / (b.abs() + 1) - b.exp()).sum().backward()
    assert a.grad is not None and b.grad is None


def test_ties_share_the_gradient(device, torch):
    """max() and maximum() with ties: the gradient is shared as PyTorch shares it."""
    a = [1.0, 3.0, 3.0, -2.0]
    for expr in (lambda L, x: x.max(), lambda L, x: x.min() * 0 + x.maximum(L.full_like(x, 3.0)).sum(),
                 lambda L, x: x.view(2, 2).max(1).values.sum(),
                 lambda L, x: x.clamp(L.full_like(x, -2.0), L.full_like(x, 3.0)).sum()):
        x = tg.tensor(a, dtype=tg.float64, device=device, requires_grad=True)
        y = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        expr(tg, x).backward()
        expr(torch, y).backward()
        np.testing.assert_allclose(x.grad.cpu().numpy(), y.grad.numpy())


def test_integer_operands_promote_and_differentiate(device, rng):
    x = leaves([make(rng, (5,), device)], device)[0]
    i = tg.tensor([1, 2, 3, 4, 5], device=device)
    y = (x * i + i / x.abs() - i ** 2 + (2 - x) * True).sum()
    y.backward()
    xa = x.detach().cpu().numpy()
    ia = np.arange(1, 6)
    np.testing.assert_allclose(x.grad.cpu().numpy(), ia - ia * np.sign(xa) / xa ** 2 - 1, rtol=1e-10)


# --- values and gradients vs PyTorch (CPU), float64 and float32 -----------------------------------
def _all_cases():
    cases = [(n, lambda L, x, f=f: f(L, x), [(s, k[0] if k else None)]) for n, f, *k in UNARY for s in
             [(3, 1, 17)]]
    cases += [(n, f, list(s)) for n, f in BINARY for s in BINARY_SHAPES[1:4]]
    cases += [(n, f, [REDUCE_SHAPE]) for n, f in REDUCE]
    cases += [(n, f, [sa, sb]) for n, f, sa, sb in MATMUL]
    return cases


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, fn, specs", _all_cases(), ids=[c[0] + str(i) for i, c in enumerate(_all_cases())])
def test_values_and_grads_match_pytorch(name, fn, specs, dtype, torch, rng):
    arrays = [make(rng, s, "cpu") for s in specs]
    outs = {}
    for L in (tg, torch):
        xs = [L.tensor(a, dtype=getattr(L, dtype), requires_grad=True) for a in arrays]
        y = fn(L, *xs)
        w = np.random.default_rng(5).standard_normal(tuple(y.shape))
        y.backward(L.tensor(w, dtype=getattr(L, dtype)))
        outs[L] = (y.detach().numpy(), str(y.dtype).split(".")[1], [x.grad.numpy() for x in xs])
    (gy, gdt, gg), (ty, tdt, tg_) = outs[tg], outs[torch]
    assert gdt == tdt and gy.shape == ty.shape
    tol = dict(atol=1e-5, rtol=1e-5) if dtype == "float32" else dict(atol=1e-12, rtol=1e-10)
    np.testing.assert_allclose(gy, ty, **tol)
    for a, b in zip(gg, tg_):
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("shape", [(97,), (3, 1, 17)], ids=str)
def test_float32_on_device_matches_float64(shape, device, rng):
    """float32 forward and backward agree with float64 to float32 precision (the CUDA kernels' main dtype)."""
    a, b = rng.standard_normal(shape), rng.standard_normal(shape[-1:])
    res = {}
    for dt in (tg.float32, tg.float64):
        x = tg.tensor(a, dtype=dt, device=device, requires_grad=True)
        w = tg.tensor(b, dtype=dt, device=device, requires_grad=True)
        y = ((x * w).sigmoid() + (x - w).tanh() * x.exp().sqrt() + (x / (w.abs() + 1)).relu() ** 2).sum()
        y.backward()
        res[dt] = [t.detach().cpu().numpy() for t in (y, x.grad, w.grad)]
    for lo, hi in zip(res[tg.float32], res[tg.float64]):
        np.testing.assert_allclose(lo, hi, **TOL["float32"])


# --- second derivatives (create_graph=True) vs finite differences of the first derivative ----------
def first_derivative(f, n_args=1):
    """x -> d(f(x, *rest))/dx as a differentiable function (create_graph=True).

    Finite differences call it with plain tensors: those get requires_grad for the inner grad only.
    """
    def d(x, *rest):
        plain = not x.requires_grad
        if plain:
            x = x.detach().requires_grad_()
        (g,) = tg.autograd.grad(f(x, *rest), x, create_graph=True)
        return g.detach() if plain else g

    return d


SECOND = [
    ("cube", lambda x: (x ** 3).sum(), None), ("sigmoid", lambda x: (x.sigmoid() * x).sum(), None),
    ("tanh", lambda x: x.tanh().sum(), None),
    ("relu_chain", lambda x: ((x * 2).relu() ** 2 + x.relu() * x).sum(), "kinks"),
    ("exp_log", lambda x: (x.exp() * x.log()).sum(), "pos"), ("sqrt_div", lambda x: (x.sqrt() / (x + 1)).sum(), "pos"),
    ("pow_tensor", lambda x: (x ** x).sum(), "pos"), ("rpow", lambda x: (3 ** x).sum(), None),
    ("clamp", lambda x: (x.clamp(-0.5, 0.5) * x ** 2).sum(), "kinks"),
    ("abs", lambda x: (x.abs() * x ** 2).sum(), "kinks"),
    ("mean_max", lambda x: (x.mean(0) ** 2).sum() + x.max() ** 2 + (x.min(1).values ** 3).sum(), None),
    ("maximum_where", lambda x: (x.maximum(-x * 0.5) ** 2 + tg.where(x > 0, x ** 3, x ** 2)).sum(), "kinks"),
    ("views", lambda x: (x.t().reshape(-1)[1:] ** 3).sum() + (x.unsqueeze(0).expand(2, 3, 4) ** 2).sum(), None),
]


@pytest.mark.parametrize("name, f, kind", SECOND, ids=[s[0] for s in SECOND])
def test_second_derivative(name, f, kind, device, rng):
    x = leaves([make(rng, ((3, 4), kind), device)], device)
    check_grad(first_derivative(f), x, atol=1e-5, rtol=1e-4)


def test_second_derivative_through_mm(device, rng):
    x, w = leaves([make(rng, (3, 4), device), make(rng, (4, 2), device)], device)

    def f(x, w):
        return (x.mm(w).tanh() ** 2).sum() + (x @ w[:, :1]).sigmoid().sum()

    check_grad(first_derivative(f), [x, w], atol=1e-5, rtol=1e-4)


def test_second_derivative_matches_pytorch(torch, rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    res = {}
    for L in (tg, torch):
        x = L.tensor(a, requires_grad=True)
        w = L.tensor(b, requires_grad=True)
        y = ((x @ w).sigmoid() ** 2).sum() + (x ** 3).tanh().sum()
        (gx,) = L.autograd.grad(y, x, create_graph=True)
        gxx, gxw = L.autograd.grad((gx * L.tensor(a).cos()).sum(), [x, w])
        res[L] = [t.detach().numpy() for t in (gx, gxx, gxw)]
    for p, q in zip(res[tg], res[torch]):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)


def test_third_derivative_of_cube(device):
    x = tg.tensor([1.5, -0.5, 2.0], dtype=tg.float64, device=device, requires_grad=True)
    (g1,) = tg.autograd.grad((x ** 3).sum(), x, create_graph=True)
    (g2,) = tg.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = tg.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(g1.detach().cpu().numpy(), 3 * np.array([1.5, -0.5, 2.0]) ** 2)
    np.testing.assert_allclose(g2.detach().cpu().numpy(), 6 * np.array([1.5, -0.5, 2.0]))
    np.testing.assert_allclose(g3.cpu().numpy(), [6.0, 6.0, 6.0])


# --- op errors with PyTorch's messages ---------------------------------------------------------
ERRORS = [
    lambda L: L.ones(2, 3, 4) @ L.ones(3, 4, 5), lambda L: L.ones(2, 3, 4) @ L.ones(3, 5),
    lambda L: L.ones(3) @ L.ones(4), lambda L: L.ones(3, 4) @ L.ones(3), lambda L: L.ones(3) @ L.ones(4, 2),
    lambda L: L.ones(2, 3).mm(L.ones(2, 3)), lambda L: L.ones(2, 3) @ L.ones(3, 2, dtype=L.float64),
    lambda L: L.ones(()) @ L.ones(3), lambda L: L.ones(2, 3, 4) @ L.ones(2, 3, 5),
    lambda L: L.ones(3) @ L.ones(2, 4, 5), lambda L: L.ones(2, 2, 3, 4) @ L.ones(2, 5),
    lambda L: L.ones(2, 3).mm(L.ones(3)), lambda L: L.ones(3).mm(L.ones(3, 2)),
    lambda L: L.ones(2) + L.ones(3), lambda L: L.ones(2, 3) * L.ones(3, 3),
    lambda L: L.where(L.ones(2) > 0, L.ones(3), 1.0),
    lambda L: L.ones(2).maximum(L.ones(3)), lambda L: L.ones(2).clamp(), lambda L: L.ones(2).sum(2),
    lambda L: L.ones(2, 3).mean(dim=(0, 0)), lambda L: L.ones(2, dtype=L.int64).mean(), lambda L: L.ones(0).max(),
    lambda L: L.ones(2, 0).max(1), lambda L: -L.tensor([True]), lambda L: L.tensor([True]) - L.tensor([False]),
    lambda L: 1 - L.tensor([True]), lambda L: L.tensor([1, 2]) ** -1,
]


@pytest.mark.parametrize("case", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_op_errors_match_pytorch(case, torch):
    with pytest.raises(Exception) as want:
        case(torch)
    with pytest.raises(type(want.value)) as got:
        case(tg)
    assert str(got.value) == str(want.value).replace("torch.", "tritongrad.")
