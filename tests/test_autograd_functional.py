"""autograd.functional (jacobian, hessian, vjp, jvp) against PyTorch's and float64 finite differences,
on both devices: values, result structure (tensors, tuples, tuples of tuples), create_graph, strict
mode and the errors."""
import numpy as np
import pytest

import tritongrad as tg

AF = tg.autograd.functional


def _leaves(torch, device, rng, *shapes):
    arrays = [rng.standard_normal(s) + 0.2 for s in shapes]
    return ([tg.tensor(a, device=device) for a in arrays], [torch.tensor(a) for a in arrays], arrays)


def _same(ours, theirs, torch):
    """Same nesting of tuples, and the same values (float64) at the leaves."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t, torch)
    else:
        assert isinstance(ours, tg.Tensor) and ours.shape == tuple(theirs.shape)
        assert ours.requires_grad == theirs.requires_grad
        np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def _f1(m):
    return lambda x: x.exp() * x.sum()  # x (3, 2) -> (3, 2)


def _f2(m):
    return lambda a, b: (a * b.sum(), (a ** 2).sum())  # two inputs, two outputs


def test_jacobian_single(torch, device, rng):
    ours, theirs, arrays = _leaves(torch, device, rng, (3, 2))
    jac = AF.jacobian(_f1(tg), ours[0])
    _same(jac, torch.autograd.functional.jacobian(_f1(torch), theirs[0]), torch)
    # float64 central differences, column by column
    x, eps = arrays[0], 1e-6
    fd = np.zeros((3, 2, 3, 2))
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        fd[(...,) + idx] = (np.exp(xp) * xp.sum() - np.exp(xm) * xm.sum()) / (2 * eps)
    np.testing.assert_allclose(jac.cpu().numpy(), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("create_graph", [False, True])
def test_jacobian_tuples(torch, device, rng, create_graph):
    ours, theirs, _ = _leaves(torch, device, rng, (2,), (3,))
    for t in ours + theirs:
        t.requires_grad_(create_graph)
    jac = AF.jacobian(_f2(tg), tuple(ours), create_graph=create_graph)
    tjac = torch.autograd.functional.jacobian(_f2(torch), tuple(theirs), create_graph=create_graph)
    _same(jac, tjac, torch)
    assert AF.jacobian(lambda a, b: a * 2, tuple(ours))[1].shape == (2, 3)  # unused input: zeros
    if create_graph:  # the jacobian is itself differentiable
        g = tg.autograd.grad(jac[0][0].sum(), ours[1])
        tgr = torch.autograd.grad(tjac[0][0].sum(), theirs[1])
        _same(g, tgr, torch)


def test_hessian(torch, device, rng):
    ours, theirs, _ = _leaves(torch, device, rng, (3,), (2,))

    def f(m):
        return lambda x: (x ** 3).sum() + (x[0] * x[1]).exp()

    def g(m):
        return lambda a, b: (a ** 2).sum() * (b ** 3).sum()

    _same(AF.hessian(f(tg), ours[0]), torch.autograd.functional.hessian(f(torch), theirs[0]), torch)
    _same(AF.hessian(g(tg), tuple(ours)), torch.autograd.functional.hessian(g(torch), tuple(theirs)), torch)
    x = ours[0].detach().requires_grad_()
    h = AF.hessian(f(tg), x, create_graph=True)
    th = torch.autograd.functional.hessian(f(torch), theirs[0].detach().requires_grad_(), create_graph=True)
    _same(h, th, torch)


def test_vjp_and_jvp(torch, device, rng):
    ours, theirs, _ = _leaves(torch, device, rng, (3, 2), (3, 2))
    x, v = ours
    tx, tv = theirs
    _same(AF.vjp(_f1(tg), x, v), torch.autograd.functional.vjp(_f1(torch), tx, tv), torch)
    _same(AF.jvp(_f1(tg), x, v), torch.autograd.functional.jvp(_f1(torch), tx, tv), torch)
    _same(AF.vjp(lambda a: (a ** 2).sum(), x), torch.autograd.functional.vjp(lambda a: (a ** 2).sum(), tx), torch)
    s, ts = ours[0][0, :1], theirs[0][0, :1]  # one element: v may be None
    _same(AF.jvp(lambda a: a.exp() * 3, s), torch.autograd.functional.jvp(lambda a: a.exp() * 3, ts), torch)
    xg, txg = x.detach().requires_grad_(), tx.detach().requires_grad_()
    out = AF.jvp(_f1(tg), xg, v, create_graph=True)
    tout = torch.autograd.functional.jvp(_f1(torch), txg, tv, create_graph=True)
    _same(out, tout, torch)
    _same(tg.autograd.grad(out[1].sum(), xg), torch.autograd.grad(tout[1].sum(), txg), torch)


def _message(m, fn):
    with pytest.raises(Exception) as e:
        fn(m)
    return type(e.value).__name__, str(e.value).replace("torch.", "tritongrad.").replace("'torch", "'tritongrad")


ERRORS = {
    "strict_unused": lambda m, x, y: m.autograd.functional.jacobian(lambda a, b: a * 2, (x, y), strict=True),
    "strict_no_grad": lambda m, x, y: m.autograd.functional.jacobian(lambda a: a.detach(), x, strict=True),
    "strict_vectorize": lambda m, x, y: m.autograd.functional.jacobian(lambda a: a * 2, x, strict=True,
                                                                       vectorize=True),
    "inputs_list": lambda m, x, y: m.autograd.functional.jacobian(lambda a: a, [x]),
    "inputs_tuple_bad": lambda m, x, y: m.autograd.functional.vjp(lambda a, b: a, (x, 3)),
    "outputs_bad": lambda m, x, y: m.autograd.functional.jacobian(lambda a: 3, x),
    "vjp_v_none": lambda m, x, y: m.autograd.functional.vjp(lambda a: a * 2, x),
    "vjp_v_size": lambda m, x, y: m.autograd.functional.vjp(lambda a: a * 2, x, y),
    "jvp_v_tuple_len": lambda m, x, y: m.autograd.functional.jvp(lambda a, b: a * b, (x, x), (x,)),
    "jvp_strict_detached": lambda m, x, y: m.autograd.functional.jvp(lambda a: a.detach(), x, x, strict=True),
    "hessian_not_scalar": lambda m, x, y: m.autograd.functional.hessian(lambda a: a * 2, x),
    "hessian_tuple_out": lambda m, x, y: m.autograd.functional.hessian(lambda a: (a.sum(), a.sum()), x),
    "hessian_strict_linear": lambda m, x, y: m.autograd.functional.hessian(lambda a: a.sum() * 2, x, strict=True),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_pytorch(torch, device, rng, case):
    ours, theirs, _ = _leaves(torch, device, rng, (3,), (2,))
    assert _message(tg, lambda m: ERRORS[case](m, *ours)) == _message(torch, lambda m: ERRORS[case](m, *theirs))


def test_vectorize_and_forward_mode_are_reported_missing(device):
    x = tg.ones(2, device=device)
    with pytest.raises(NotImplementedError, match="vmap"):
        AF.jacobian(lambda a: a * 2, x, vectorize=True)
    with pytest.raises(NotImplementedError, match="forward-mode"):
        AF.jacobian(lambda a: a * 2, x, strategy="forward-mode")
