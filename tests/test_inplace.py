"""In-place ops: values, version bumps, gradients through in-place ops on non-leaf tensors and views
(CopySlices), and failed calls that change nothing (checks come before the write)."""
import numpy as np
import pytest
from helpers import check_grad

import tritongrad as tg

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning:triton.*")

# (name, in-place call on tensor t (and tensor o shaped like t's last dim), the same on NumPy arrays)
INPLACE = [
    ("add_", lambda t, o: t.add_(o), lambda a, b: a + b),
    ("add_scalar", lambda t, o: t.add_(2.5), lambda a, b: a + 2.5),
    ("add_alpha", lambda t, o: t.add_(o, alpha=-3), lambda a, b: a - 3 * b),
    ("sub_", lambda t, o: t.sub_(o), lambda a, b: a - b),
    ("sub_alpha", lambda t, o: t.sub_(o, alpha=0.5), lambda a, b: a - 0.5 * b),
    ("mul_", lambda t, o: t.mul_(o), lambda a, b: a * b),
    ("mul_scalar", lambda t, o: t.mul_(-2), lambda a, b: a * -2),
    ("div_", lambda t, o: t.div_(o), lambda a, b: a / b),
    ("div_scalar", lambda t, o: t.div_(4), lambda a, b: a / 4),
    ("zero_", lambda t, o: t.zero_(), lambda a, b: a * 0),
    ("fill_", lambda t, o: t.fill_(1.25), lambda a, b: a * 0 + 1.25),
    ("fill_tensor", lambda t, o: t.fill_(o[0]), lambda a, b: a * 0 + b[0]),
    ("copy_", lambda t, o: t.copy_(o), lambda a, b: a * 0 + b),
    ("clamp_", lambda t, o: t.clamp_(-0.5, 0.5), lambda a, b: np.clip(a, -0.5, 0.5)),
    ("clamp_min", lambda t, o: t.clamp_(min=0.2), lambda a, b: np.maximum(a, 0.2)),
    ("iadd", lambda t, o: t.__iadd__(o), lambda a, b: a + b),
    ("isub", lambda t, o: t.__isub__(1), lambda a, b: a - 1),
    ("imul", lambda t, o: t.__imul__(o), lambda a, b: a * b),
    ("idiv", lambda t, o: t.__itruediv__(o), lambda a, b: a / b),
]
IDS = [c[0] for c in INPLACE]


def _data(rng, shape):
    a = rng.standard_normal(shape)
    return a, rng.uniform(0.5, 2.0, shape[-1:]) * rng.choice([-1, 1], shape[-1:])


@pytest.mark.parametrize("shape", [(97,), (3, 1, 17), (7, 13)], ids=str)
@pytest.mark.parametrize("name, op, ref", INPLACE, ids=IDS)
def test_inplace_values_and_version(name, op, ref, shape, device, rng):
    a, b = _data(rng, shape)
    t = tg.tensor(a, device=device)
    o = tg.tensor(b, device=device)
    view = t.view(-1)
    out = op(t, o)
    assert out is t, "in-place ops return self"
    assert t._version == view._version == 1 and o._version == 0
    np.testing.assert_allclose(t.cpu().numpy(), ref(a, b), rtol=1e-6)
    np.testing.assert_allclose(view.cpu().numpy(), ref(a, b).reshape(-1), rtol=1e-6)


@pytest.mark.parametrize("name, op, ref", INPLACE, ids=IDS)
def test_inplace_under_no_grad_on_a_leaf(name, op, ref, device, rng):
    a, b = _data(rng, (3, 4))
    t = tg.tensor(a, device=device, requires_grad=True)
    with tg.no_grad():
        op(t, tg.tensor(b, device=device))
    assert t.is_leaf and t.requires_grad and t.grad_fn is None and t._version == 1
    np.testing.assert_allclose(t.detach().cpu().numpy(), ref(a, b).astype(np.float32), rtol=1e-6)


def test_inplace_int_tensor(device):
    t = tg.tensor([1, 2, 3], device=device)
    t += 2
    t.mul_(tg.tensor([1, 0, -1], device=device))
    t.sub_(1, alpha=2)
    t.clamp_(-4, 2)
    assert t.dtype is tg.int64 and t.cpu().tolist() == [1, -2, -4] and t._version == 4


def test_inplace_float32_with_float64_operand(device):
    t = tg.tensor([1.0, 2.0], device=device)
    t.add_(tg.tensor([0.5, 0.25], dtype=tg.float64, device=device))
    t.copy_(t * 2)
    assert t.dtype is tg.float32 and t.cpu().tolist() == [3.0, 4.5]


def test_inplace_on_a_view_writes_the_base(device, rng):
    a = rng.standard_normal((4, 5))
    x = tg.tensor(a, device=device)
    x[1:3, ::2].mul_(10)
    x.t()[0].zero_()
    x[3] += tg.ones(5, device=device)
    b = a.copy()
    b[1:3, ::2] *= 10
    b[:, 0] = 0
    b[3] += 1
    np.testing.assert_allclose(x.cpu().numpy(), b, rtol=1e-6)
    assert x._version == 4  # NOTE: x[3] += v is x[3].add_(v), then x[3] = (that): two writes, as in PyTorch


# --- gradients after in-place ops on non-leaf tensors -------------------------------------------------
NONLEAF = [
    ("mul_scalar", lambda x, w: (x * w).mul_(3)),
    ("mul_tensor", lambda x, w: (x * 2).mul_(w)),
    ("add_alpha", lambda x, w: (x * 2).add_(w, alpha=-2)),
    ("sub_alpha", lambda x, w: (x + 1).sub_(w, alpha=0.5) * x),
    ("div_tensor", lambda x, w: (x * 2).div_(w.abs() + 1)),
    ("div_scalar", lambda x, w: (x - w).div_(4)),
    ("iadd_isub", lambda x, w: _iops(x, w)),
    ("zero_then_use", lambda x, w: (x * 2).zero_() + x * w),
    ("fill_then_use", lambda x, w: (x * w).fill_(3) * x),
    ("fill_from_tensor", lambda x, w: (x * 2).fill_(w.sum()) * x),
    ("copy_", lambda x, w: (x * 2).copy_(w) * x),
    ("clamp_", lambda x, w: (x * 2).clamp_(-1, 1) * w),
    ("chain", lambda x, w: (x * 2).mul_(w).add_(1).sigmoid()),
    ("saved_then_inplace_ok", lambda x, w: _mul_then_add(x, w)),
    ("view_mul_", lambda x, w: _on_view(x, lambda v: v[0].mul_(w))),
    ("view_add_slice", lambda x, w: _on_view(x, lambda v: v[:, 1:].add_(w[1:]))),
    ("view_t", lambda x, w: _on_view(x, lambda v: v.t()[1].mul_(3)) * w),
    ("view_of_view", lambda x, w: _on_view(x, lambda v: v[1][1:].mul_(w[1:]))),
    ("base_then_view", lambda x, w: _base_then_view(x, w)),
]


def _iops(x, w):
    y = x * 1
    y += w
    y -= x * x
    y *= w
    y /= 2
    return y


def _mul_then_add(x, w):
    y = x * w  # saves x and w, not y: changing y afterwards is fine
    y.add_(1)
    return y * y


def _on_view(x, fn):
    y = x * 2
    fn(y)
    return y


def _base_then_view(x, w):
    y = x * 1
    v = y[1]
    y.mul_(w)  # the view's history is redone from its base
    return v * 3


@pytest.mark.parametrize("name, fn", NONLEAF, ids=[n[0] for n in NONLEAF])
def test_inplace_non_leaf_grad(name, fn, device, rng):
    x = tg.tensor(rng.standard_normal((2, 3)), dtype=tg.float64, device=device, requires_grad=True)
    w = tg.tensor(rng.uniform(0.5, 2, 3), dtype=tg.float64, device=device, requires_grad=True)
    check_grad(fn, [x, w])


@pytest.mark.parametrize("name, fn", NONLEAF, ids=[n[0] for n in NONLEAF])
def test_inplace_non_leaf_matches_pytorch(name, fn, torch, rng):
    a, b = rng.standard_normal((2, 3)), rng.uniform(0.5, 2, 3)
    res = {}
    for L in (tg, torch):
        x = L.tensor(a, requires_grad=True)
        w = L.tensor(b, requires_grad=True)
        y = fn(x, w)
        y.backward(L.tensor(np.arange(1.0, y.numel() + 1.0).reshape(tuple(y.shape))))
        res[L] = (y.detach().numpy(), type(y.grad_fn).__name__, x.grad.numpy(), w.grad.numpy(), x._version)
    (y1, n1, gx1, gw1, v1), (y2, n2, gx2, gw2, v2) = res[tg], res[torch]
    assert n1 == n2 and v1 == v2
    for p, q in ((y1, y2), (gx1, gx2), (gw1, gw2)):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)


def test_inplace_rebases_history():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    old = y.grad_fn
    y.mul_(3)
    assert y.grad_fn is not old and y.grad_fn.name() == "MulBackward0" and y._version == 1
    assert y.grad_fn.next_functions[0][0] is old


# --- x[idx] = v with v requiring grad: CopySlices --------------------------------------------------
SETITEM = [
    ("row", 0, lambda w: w), ("column", (slice(None), 0), lambda w: w[:2]),
    ("broadcast", (1, slice(1, None)), lambda w: w[0]), ("scalar_value", (1, 2), lambda w: w[1] * 2),
    ("ellipsis", (..., 1), lambda w: w[1:] * w[:2]), ("number", (0, slice(None, 2)), lambda w: 7.0),
]


def _setitem(idx, value):
    def fn(x, w):
        y = x * 2
        y[idx] = value(w)
        return y * x
    return fn


@pytest.mark.parametrize("name, idx, value", SETITEM, ids=[s[0] for s in SETITEM])
def test_setitem_grad(name, idx, value, device, rng):
    x = tg.tensor(rng.standard_normal((2, 3)), dtype=tg.float64, device=device, requires_grad=True)
    w = tg.tensor(rng.standard_normal(3), dtype=tg.float64, device=device, requires_grad=True)
    if name == "number":
        check_grad(lambda x: _setitem(idx, value)(x, w), [x])
    else:
        check_grad(_setitem(idx, value), [x, w])


@pytest.mark.parametrize("name, idx, value", SETITEM, ids=[s[0] for s in SETITEM])
def test_setitem_matches_pytorch(name, idx, value, torch, rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    res = {}
    for L in (tg, torch):
        x = L.tensor(a, requires_grad=True)
        w = L.tensor(b, requires_grad=True)
        y = x * 2
        y[idx] = value(w)
        names = type(y.grad_fn).__name__, [type(n).__name__ for n, _ in y.grad_fn.next_functions]
        (y * x).backward(L.tensor(np.arange(1.0, 7.0).reshape(2, 3)))
        res[L] = (names, x.grad.numpy(), None if w.grad is None else w.grad.numpy())
    (n1, gx1, gw1), (n2, gx2, gw2) = res[tg], res[torch]
    assert n1 == n2 and n1[0] == "CopySlices"
    np.testing.assert_allclose(gx1, gx2, rtol=1e-12)
    assert (gw1 is None) == (gw2 is None)
    if gw1 is not None:
        np.testing.assert_allclose(gw1, gw2, rtol=1e-12)


def test_setitem_into_a_plain_tensor_makes_it_require_grad(device):
    w = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = tg.zeros(2, 3, device=device)
    y[1] = w * 2
    assert y.requires_grad and y.grad_fn.name() == "torch::autograd::CopySlices" and y.is_leaf is False
    (y * y).sum().backward()
    assert w.grad.cpu().tolist() == [8.0, 16.0, 24.0]


def test_view_taken_before_setitem_sees_new_history(torch):
    res = {}
    for L in (tg, torch):
        x = L.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        w = L.tensor([5.0, 6.0], requires_grad=True)
        y = x * 1
        v = y[0]
        y[0] = w * 2
        (v * v).sum().backward()
        res[L] = (v.tolist(), x.grad.tolist(), w.grad.tolist())
    assert res[tg] == res[torch] == ([10.0, 12.0], [[0.0, 0.0], [0.0, 0.0]], [40.0, 48.0])


# --- failed in-place calls change nothing ---------------------------------------------------------
FAILS = [
    ("shape", lambda L, x, xi: x.add_(L.ones(3, 3))),
    ("broadcast_out", lambda L, x, xi: x[0].mul_(L.ones(2, 3))),
    ("int_add_float", lambda L, x, xi: xi.add_(1.5)),
    ("int_add_float_tensor", lambda L, x, xi: xi.add_(x)),
    ("int_div", lambda L, x, xi: xi.div_(2)),
    ("int_idiv", lambda L, x, xi: xi.__itruediv__(2)),
    ("bool_add", lambda L, x, xi: (xi > 2).add_(1)),
    ("int_alpha_float", lambda L, x, xi: xi.sub_(xi, alpha=0.5)),
    ("copy_shape", lambda L, x, xi: x.copy_(L.ones(2))),
    ("fill_vector", lambda L, x, xi: x.fill_(L.ones(2))),
    ("exp_int", lambda L, x, xi: xi.exp_()),
    ("clamp_no_bounds", lambda L, x, xi: x.clamp_()),
    ("leaf_add_", lambda L, x, xi: x.requires_grad_().add_(1)),
    ("leaf_mul_tensor", lambda L, x, xi: x.requires_grad_().mul_(L.ones(3))),
    ("leaf_zero_", lambda L, x, xi: x.requires_grad_().zero_()),
    ("leaf_fill_", lambda L, x, xi: x.requires_grad_().fill_(2)),
    ("leaf_copy_", lambda L, x, xi: x.requires_grad_().copy_(L.ones(3))),
    ("leaf_clamp_", lambda L, x, xi: x.requires_grad_().clamp_(0, 1)),
    ("leaf_iadd", lambda L, x, xi: x.requires_grad_().__iadd__(1)),
    ("leaf_view", lambda L, x, xi: x.requires_grad_()[0].add_(1)),
    ("leaf_setitem", lambda L, x, xi: x.requires_grad_().__setitem__(0, 1.0)),
    ("expanded", lambda L, x, xi: x[:, :1].expand(2, 3).add_(1)),
    ("expanded_copy", lambda L, x, xi: x[:1].expand(2, 3).copy_(L.ones(2, 3))),
]  # NOTE: PyTorch allows fill_ on an expanded tensor; tritongrad refuses it with the message above


@pytest.mark.parametrize("name, fn", FAILS, ids=[f[0] for f in FAILS])
def test_failed_inplace_changes_nothing(name, fn, torch):
    outcome = {}
    for L in (torch, tg):
        x = L.tensor([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]])
        xi = L.tensor([[1, 2, 3], [4, 5, 6]])
        with pytest.raises(Exception) as err:
            fn(L, x, xi)
        outcome[L] = (type(err.value), str(err.value).replace("torch.", "tritongrad."), x.tolist(), x._version,
                      xi.tolist(), xi._version)
    assert outcome[tg] == outcome[torch]
    assert outcome[tg][3] == outcome[tg][5] == 0


def test_failed_inplace_on_device_changes_nothing(device):
    x = tg.tensor([1.0, 2.0, 3.0], device=device)
    other = "cuda" if device == "cpu" else "cpu"
    if other == "cuda" and not tg.cuda.is_available():
        o = None
    else:
        o = tg.ones(3, device=other)
    cases = [lambda: x.add_(tg.ones(2, device=device)), lambda: x.mul_("a"),
             lambda: x.requires_grad_().sub_(1)]
    if o is not None:
        cases.append(lambda: x.detach().add_(o))
    for case in cases:
        with pytest.raises((RuntimeError, TypeError)):
            case()
        assert x.detach().cpu().tolist() == [1.0, 2.0, 3.0] and x._version == 0


def test_in_place_on_a_chain_of_thousands_of_views():
    """View replay is a loop: no depth limit (PyTorch has none), so nothing fails half way through."""
    import sys

    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = y
    for _ in range(sys.getrecursionlimit() + 500):
        v = v.view(3) if v.ndim == 1 else v
        v = v[:]
    v.mul_(2)
    assert v._version == 1 and y._version == 1
    assert y.grad_fn.name() == "torch::autograd::CopySlices"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    y.add_(1)  # a stale view's history is redone from its base, through the whole chain
    assert v.grad_fn is not None and (v * 1).sum().requires_grad
