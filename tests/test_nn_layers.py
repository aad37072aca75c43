"""The layers of issue 15 item 6: containers (ModuleList, ModuleDict, ParameterList, ParameterDict),
Flatten/Unflatten, the activations SiLU, LeakyReLU, ELU, Softplus, and BatchNorm1d, against
PyTorch (values, gradients, reprs, names, errors) and float64 finite differences, on both devices.
"""
import numpy as np
import pytest
from helpers import check_grad, randn

import tritongrad as tg
import tritongrad.nn.functional as F
from tritongrad import nn


def tt(torch, t, requires_grad=False):
    return torch.tensor(t.detach().cpu().numpy(), requires_grad=requires_grad)


def close(a, b, atol=1e-12, rtol=1e-10):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), atol=atol, rtol=rtol)


def torch_repr(text):
    return text.replace("torch.", "tritongrad.")


# --- activations ----------------------------------------------------------------------------------------
ACTIVATIONS = [("silu", {}), ("leaky_relu", {}), ("leaky_relu", dict(negative_slope=0.2)), ("elu", {}),
               ("elu", dict(alpha=0.5)), ("softplus", {}), ("softplus", dict(beta=2.0, threshold=5.0))]
# exact zeros, tiny values (where exp(x) - 1 and log(1 + exp(x)) lose every digit), threshold
# crossings and values whose exp overflows
EDGES = [0.0, -0.0, 1e-12, -1e-12, 1e-7, -1e-7, -40.0, -800.0, 800.0, 2.5, 2.4999, 20.0, 20.5, -3.0]


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS)
def test_activations_match_torch(torch, device, rng, name, kwargs):
    data = np.concatenate([rng.standard_normal(19) * 3, EDGES])
    x = tg.tensor(data, device=device, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    y, ty = getattr(F, name)(x, **kwargs), getattr(torch.nn.functional, name)(tx, **kwargs)
    close(y, ty, atol=0, rtol=1e-14)
    w = rng.standard_normal(data.shape)
    y.backward(tg.tensor(w, device=device))
    ty.backward(torch.tensor(w))
    close(x.grad, tx.grad, atol=0, rtol=1e-14)


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS)
def test_activations_finite_differences(rng, name, kwargs):
    check_grad(lambda x: getattr(F, name)(x, **kwargs), [randn(rng, (3, 5), away_from=0.0)])


def test_activation_modules_and_inplace(torch, rng):
    x = randn(rng, (4, 3), requires_grad=False)
    for ours, theirs in [(nn.SiLU(), torch.nn.SiLU()), (nn.LeakyReLU(0.1, inplace=True), torch.nn.LeakyReLU(0.1, True)),
                         (nn.ELU(alpha=0.3), torch.nn.ELU(alpha=0.3)), (nn.Softplus(beta=3), torch.nn.Softplus(beta=3)),
                         (nn.ELU(inplace=True), torch.nn.ELU(inplace=True))]:
        assert repr(ours) == repr(theirs)
        a, b = x.clone(), tt(torch, x)
        out, tout = ours(a), theirs(b)
        close(out, tout)
        if getattr(ours, "inplace", False):
            close(a, b)  # the input itself was overwritten
    leaf = tg.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.silu(leaf, inplace=True)
    y = leaf * 1.0
    F.elu(y, inplace=True).sum().backward()  # in place on a non-leaf is recorded
    np.testing.assert_allclose(leaf.grad.numpy(), np.where(leaf.detach().numpy() > 0, 1, np.exp(leaf.detach().numpy())),
                               rtol=1e-6)


# --- containers -----------------------------------------------------------------------------------------
def test_module_list_matches_torch(torch):
    ours = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU()])
    theirs = torch.nn.ModuleList([torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), torch.nn.ReLU()])
    for m, N in ((ours, nn), (theirs, torch.nn)):
        m.append(N.ReLU())
        m.insert(1, N.Linear(2, 3))
        m.extend([N.Tanh()])
        m += [N.Linear(3, 3)]
        del m[-2]
        m[0] = N.Linear(2, 2, bias=False)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert len(ours) == len(theirs) == 6 and type(ours[1:3]) is nn.ModuleList and len(ours[::2]) == 3
    assert ours[-1] is ours[5] and isinstance(ours.pop(1), nn.Linear) and len(ours) == 5
    assert [type(m).__name__ for m in ours + nn.ModuleList([nn.Tanh()])][-1] == "Tanh"
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList()) == "ModuleList()"
    with pytest.raises(IndexError, match="index 9 is out of range"):
        ours[9]
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable, but got Linear"):
        ours.extend(nn.Linear(1, 1))
    with pytest.raises(NotImplementedError):
        ours(tg.randn(2))


def test_module_dict_matches_torch(torch):
    ours = nn.ModuleDict({"b": nn.Linear(2, 2), "a": nn.ReLU()})
    theirs = torch.nn.ModuleDict({"b": torch.nn.Linear(2, 2), "a": torch.nn.ReLU()})
    for m, N in ((ours, nn), (theirs, torch.nn)):
        m["c"] = N.Linear(2, 1)
        m.update([("d", N.ReLU())])
        del m["a"]
    assert repr(ours) == repr(theirs) and list(ours) == list(theirs) == ["b", "c", "d"]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert "c" in ours and len(ours) == 3 and isinstance(ours.pop("c"), nn.Linear) and list(ours.keys()) == ["b", "d"]
    for bad, exc in [(nn.Linear(1, 1), TypeError), ([("x",)], ValueError), ([3], TypeError)]:
        with pytest.raises(exc) as e1:
            ours.update(bad)
        with pytest.raises(exc) as e2:
            theirs.update(torch.nn.Linear(1, 1) if isinstance(bad, nn.Module) else bad)
        assert str(e1.value) == str(e2.value)


def test_parameter_list_and_dict_match_torch(torch, device):
    ours = nn.ParameterList([nn.Parameter(tg.randn(2, 3)), tg.randn(4, device=device)])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(2, 3)), torch.randn(4)])
    ours.append(tg.randn(1))
    theirs.append(torch.randn(1))
    assert all(isinstance(p, nn.Parameter) for p in ours) and len(ours) == 3
    expected = torch_repr(repr(theirs))
    if device == "cuda":
        expected = expected.replace("of size 4]", "of size 4 (cuda:0)]")
    assert repr(ours) == expected
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert ours[-1] is ours[2] and len(ours[1:]) == 2
    pd = nn.ParameterDict({"w": tg.randn(2), "b": nn.Parameter(tg.zeros(1))})
    tpd = torch.nn.ParameterDict({"w": torch.randn(2), "b": torch.nn.Parameter(torch.zeros(1))})
    assert repr(pd) == torch_repr(repr(tpd)) and list(pd) == list(tpd) == ["b", "w"]
    assert [n for n, _ in pd.named_parameters()] == [n for n, _ in tpd.named_parameters()]
    assert "w" in pd and pd.get("zz") is None and isinstance(pd.pop("w"), nn.Parameter) and list(pd.keys()) == ["b"]
    for obj, tobj in ((ours, theirs), (pd, tpd)):
        with pytest.raises(RuntimeError) as e1:
            obj()
        with pytest.raises(RuntimeError) as e2:
            tobj(None) if isinstance(tobj, torch.nn.ParameterDict) else tobj()
        assert str(e1.value) == str(e2.value)
    with pytest.raises(TypeError, match="not a string"):
        pd[1] = tg.randn(1)


def test_flatten_unflatten(torch, device):
    x = tg.randn(2, 12, 3, device=device)
    u, tu = nn.Unflatten(1, (3, 4)), torch.nn.Unflatten(1, (3, 4))
    assert repr(u) == repr(tu) and u(x).shape == (2, 3, 4, 3)
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten()) and repr(nn.Identity()) == repr(torch.nn.Identity())
    assert nn.Flatten(0, 1)(u(x)).shape == (6, 4, 3)
    for bad in [(1, [3, 4.0]), (1, 12)]:
        with pytest.raises(TypeError) as e1:
            nn.Unflatten(*bad)
        with pytest.raises(TypeError) as e2:
            torch.nn.Unflatten(*bad)
        assert str(e1.value) == str(e2.value)


# --- BatchNorm1d ----------------------------------------------------------------------------------------
BN_CASES = [((4, 3, 5), dict(momentum=None, bias=False)), ((6, 3), dict(track_running_stats=False)),
            ((6, 3), {}), ((4, 3, 5), dict(affine=False, momentum=0.3))]


def test_batchnorm1d_matches_torch(torch, device, rng):
    # NOTE: two cases on emulated CUDA (slow), all four on the CPU: the same Tensor ops on both
    for shape, kwargs in BN_CASES if device == "cpu" else BN_CASES[:2]:
        check_batchnorm1d(torch, device, rng, shape, kwargs)


def check_batchnorm1d(torch, device, rng, shape, kwargs):
    ours = nn.BatchNorm1d(3, eps=1e-3, **kwargs).double().to(device)
    theirs = torch.nn.BatchNorm1d(3, eps=1e-3, **kwargs).double()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        v = rng.uniform(0.5, 2, 3)
        p.data, q.data = tg.tensor(v, device=device), torch.tensor(v)
    for _ in range(2):  # training steps update the running statistics
        x = randn(rng, shape, device)
        tx = tt(torch, x, requires_grad=True)
        y, ty = ours(x), theirs(tx)
        close(y, ty)
        g = rng.standard_normal(shape)
        y.backward(tg.tensor(g, device=device))
        ty.backward(torch.tensor(g))
        close(x.grad, tx.grad)
        for p, q in zip(ours.parameters(), theirs.parameters()):
            close(p.grad, q.grad)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        close(ours.state_dict()[key], value)
    ours.eval()
    theirs.eval()
    x = randn(rng, shape, device, requires_grad=False)
    close(ours(x), theirs(tt(torch, x)))
    assert repr(ours) == repr(theirs)


def test_batch_norm_finite_differences(rng):
    w, b = randn(rng, (3,), positive=True), randn(rng, (3,))
    check_grad(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [randn(rng, (4, 3, 2)), w, b])
    rm, rv = tg.tensor(rng.standard_normal(3)), tg.tensor(rng.uniform(0.5, 2, 3))
    check_grad(lambda x, w: F.batch_norm(x, rm, rv, w, None, eps=0.1), [randn(rng, (5, 3)), randn(rng, (3,))])


def test_batchnorm_errors_match_torch(torch):
    cases = [lambda nn, t: nn.BatchNorm1d(3)(t.randn(2, 3, 4, 5)),
             lambda nn, t: nn.BatchNorm1d(3)(t.randn(1, 3)),
             lambda nn, t: nn.BatchNorm1d(3)(t.randn(2, 4)),
             lambda nn, t: nn.functional.batch_norm(t.randn(2, 3), None, None, training=False)]
    for case in cases:
        with pytest.raises(Exception) as theirs:
            case(torch.nn, torch)
        with pytest.raises(type(theirs.value)) as ours:
            case(nn, tg)
        assert str(ours.value) == torch_repr(str(theirs.value))
