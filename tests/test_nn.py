"""tritongrad.nn: Parameter, Module (registration, traversal, modes, devices, state_dict, hooks),
layers, activations, dropout, and the functional ops (softmax, log_softmax, losses) against
PyTorch and float64 finite differences; the fused softmax kernels against the CPU reference.
"""
import copy
import math
from collections import OrderedDict

import numpy as np
import pytest
from helpers import TOL, check_grad, randn

import tritongrad as tg
import tritongrad.nn.functional as F
from tritongrad import nn


def tt(torch, t):
    """A PyTorch tensor with t's values (float64 stays float64)."""
    return torch.tensor(t.detach().cpu().numpy())


def close(a, b, tol=TOL["float64"]):
    a = a.detach().cpu().numpy() if isinstance(a, tg.Tensor) else np.asarray(a.detach()) if hasattr(a, "detach") \
        else np.asarray(a)
    b = b.detach().cpu().numpy() if isinstance(b, tg.Tensor) else np.asarray(b.detach()) if hasattr(b, "detach") \
        else np.asarray(b)
    np.testing.assert_allclose(a, b, **tol)


def torch_msg(text):
    return text.replace("torch.", "tritongrad.")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 5)
        self.act = nn.Tanh()
        self.block = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2, bias=False))
        self.register_buffer("scale", tg.tensor([2.0]))
        self.register_buffer("cache", tg.zeros(1), persistent=False)

    def forward(self, x):
        return self.block(self.act(self.fc1(x))) * self.scale


def torch_net(torch):
    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(3, 5)
            self.act = torch.nn.Tanh()
            self.block = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2, bias=False))
            self.register_buffer("scale", torch.tensor([2.0]))
            self.register_buffer("cache", torch.zeros(1), persistent=False)

    return TNet()


# --- Parameter -------------------------------------------------------------------------------------
def test_parameter_basics(torch):
    p = nn.Parameter(tg.tensor([[1.0, -2.5], [3.0, 0.125]]))
    q = torch.nn.Parameter(torch.tensor([[1.0, -2.5], [3.0, 0.125]]))
    assert repr(p) == torch_msg(repr(q))
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf and p.grad_fn is None
    assert type(p * 2) is tg.Tensor and type(p.detach()) is tg.Tensor and type(p.data) is tg.Tensor
    assert not nn.Parameter(tg.randn(2), requires_grad=False).requires_grad
    assert repr(nn.Parameter(tg.tensor([1, 2]), requires_grad=False)) == "Parameter containing:\ntensor([1, 2])"
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(tg.tensor([1, 2]))
    (p * p).sum().backward()
    close(p.grad, 2 * p.detach())


def test_parameter_shares_memory_and_deepcopies():
    t = tg.randn(3)
    p = nn.Parameter(t)
    with tg.no_grad():
        p.mul_(2)
    close(t, p)
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.requires_grad
    with tg.no_grad():
        q.zero_()
    assert p.abs().sum().item() > 0


# --- Module: registration, traversal, modes ---------------------------------------------------------
def test_names_and_traversal_match_torch(torch):
    net, ref = Net(), torch_net(torch)
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert [n for n, _ in net.named_modules()] == [n for n, _ in ref.named_modules()]
    assert [n for n, _ in net.named_children()] == [n for n, _ in ref.named_children()]
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in ref.named_buffers()]
    assert list(net.state_dict()) == list(ref.state_dict())
    assert len(list(net.parameters())) == 5 and len(list(net.modules())) == 7
    assert [n for n, _ in net.named_parameters(recurse=False)] == []
    assert net.get_submodule("block.2") is net.block[2]


def test_shared_parameter_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_repr_matches_torch(torch):
    assert repr(nn.Linear(3, 32)) == "Linear(in_features=3, out_features=32, bias=True)"
    assert repr(Net()) == torch_msg(repr(torch_net(torch))).replace("TNet", "Net")
    seq = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Sequential(nn.Sigmoid(), nn.Tanh()),
                        nn.Linear(128, 10, bias=False), nn.CrossEntropyLoss(), nn.MSELoss(), nn.Flatten(),
                        nn.Identity(), nn.Softmax(dim=1), nn.ReLU(inplace=True))
    tseq = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                               torch.nn.Sequential(torch.nn.Sigmoid(), torch.nn.Tanh()),
                               torch.nn.Linear(128, 10, bias=False), torch.nn.CrossEntropyLoss(), torch.nn.MSELoss(),
                               torch.nn.Flatten(), torch.nn.Identity(), torch.nn.Softmax(dim=1),
                               torch.nn.ReLU(inplace=True))
    assert repr(seq) == repr(tseq)


def test_setattr_rules():
    m = nn.Module()
    m.w = nn.Parameter(tg.randn(2))
    assert "w" in m._parameters and m.w is m._parameters["w"]
    with pytest.raises(TypeError, match="cannot assign 'tritongrad.FloatTensor' as parameter 'w'"):
        m.w = tg.randn(2)
    m.w = None
    assert m.w is None and list(m.parameters()) == []
    m.sub = nn.Linear(1, 1)
    assert list(m.children()) == [m.sub]
    del m.sub
    assert list(m.children()) == []
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        m.nope  # noqa: B018
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        m(1)


class NoInit(nn.Module):
    def __init__(self):
        self.w = nn.Parameter(tg.randn(1))


def test_assign_before_init_errors():
    with pytest.raises(AttributeError, match="before Module.__init__"):
        NoInit()


def test_train_eval_and_zero_grad():
    net = Net()
    assert net.training and net.block[1].training
    net.eval()
    assert not net.training and not net.block[1].training
    net.train()
    assert net.block[2].training
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")
    net(tg.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and p.grad.abs().sum().item() == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_keeps_parameters_and_converts_grads(device):
    net = Net()
    params = list(net.parameters())
    net(tg.randn(2, 3)).sum().backward()
    out = net.to(device, tg.float64)
    assert out is net and list(net.parameters()) == params  # the same Parameter objects
    assert all(p.dtype is tg.float64 and p.device == tg.device(device) for p in params)
    assert all(p.grad.dtype is tg.float64 and p.grad.device == tg.device(device) for p in params)
    assert net.scale.device == tg.device(device)
    y = net(tg.randn(2, 3, dtype=tg.float64, device=device))
    assert y.dtype is tg.float64 and y.device == tg.device(device)
    net.cpu().float()
    assert all(p.dtype is tg.float32 and not p.is_cuda for p in params)
    with pytest.raises(TypeError, match="floating point"):
        net.to(tg.int64)


def test_linear_init_and_forward(device, rng):
    tg.manual_seed(3)
    fc = nn.Linear(97, 33, device=device, dtype=tg.float64)
    bound = 1 / math.sqrt(97)
    w = fc.weight.detach().cpu().numpy()
    assert fc.weight.shape == (33, 97) and fc.bias.shape == (33,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound  # uniform on the whole interval
    assert np.abs(fc.bias.detach().cpu().numpy()).max() <= bound
    x = randn(rng, (3, 1, 97), device, requires_grad=False)
    expected = x.cpu().numpy() @ w.T + fc.bias.detach().cpu().numpy()
    close(fc(x), expected)
    assert nn.Linear(4, 2, bias=False).bias is None


@pytest.mark.parametrize("bias", [True, False])
def test_linear_grad(rng, bias):
    x = randn(rng, (5, 4))
    w = randn(rng, (3, 4))
    b = randn(rng, (3,)) if bias else None
    inputs = [x, w] + ([b] if bias else [])
    check_grad(lambda x, w, *b: F.linear(x, w, *b), inputs)


def test_sequential_container():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c and list(seq) == [a, b, c]
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:]) == [b, c]
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert named.fc is a and list(named.state_dict()) == ["fc.weight", "fc.bias"]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4
    del seq[0]
    assert list(seq._modules) == ["0", "1", "2"]
    with pytest.raises(IndexError):
        seq[5]


# --- state_dict ----------------------------------------------------------------------------------------
def test_state_dict_round_trip(rng):
    src, dst = Net(), Net()
    sd = src.state_dict()
    assert "cache" not in sd and "scale" in sd
    assert all(not v.requires_grad for v in sd.values())
    assert sd["fc1.weight"]._data is src.fc1.weight._data  # shares memory, detached
    result = dst.load_state_dict(sd)
    assert repr(result) == "<All keys matched successfully>"
    x = tg.randn(4, 3)
    close(dst(x), src(x))
    assert dst.fc1.weight._data is not src.fc1.weight._data
    assert isinstance(dst.fc1.weight, nn.Parameter)


def test_load_state_dict_errors_match_torch(torch):
    net, ref = Net(), torch_net(torch)
    sd, tsd = net.state_dict(), ref.state_dict()
    for d in (sd, tsd):
        del d["fc1.bias"]
        d["extra.weight"] = d["scale"]
    sd["block.0.weight"] = tg.zeros(4, 6)
    tsd["block.0.weight"] = torch.zeros(4, 6)
    with pytest.raises(RuntimeError) as ours:
        net.load_state_dict(sd)
    with pytest.raises(RuntimeError) as theirs:
        ref.load_state_dict(tsd)
    assert str(ours.value) == torch_msg(str(theirs.value)).replace("TNet", "Net")
    del sd["block.0.weight"], tsd["block.0.weight"]
    res, tres = net.load_state_dict(sd, strict=False), ref.load_state_dict(tsd, strict=False)
    assert res.missing_keys == tres.missing_keys and res.unexpected_keys == tres.unexpected_keys
    assert repr(res) == repr(tres)
    with pytest.raises(TypeError, match="dict-like"):
        net.load_state_dict([1, 2])


def test_load_state_dict_casts_and_moves(device):
    src = nn.Linear(3, 2).double()
    dst = nn.Linear(3, 2).to(device)
    dst.load_state_dict(src.state_dict())
    assert dst.weight.dtype is tg.float32 and dst.weight.device == tg.device(device)
    close(dst.weight, src.weight, TOL["float32"])


# --- hooks ---------------------------------------------------------------------------------------------
def test_forward_hooks():
    fc = nn.Linear(2, 2)
    calls = []
    h1 = fc.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = fc.register_forward_hook(lambda m, args, out: calls.append((m, args[0].abs().sum().item())) or out + 1)
    x = tg.randn(3, 2)
    y = fc(x)
    close(y, fc.bias.detach().expand(3, 2) + 1)
    assert calls == [(fc, 0.0)]
    h1.remove()
    h2.remove()
    close(fc(x), F.linear(x, fc.weight, fc.bias))
    order = []
    fc.register_forward_hook(lambda m, a, o: order.append("a"))
    fc.register_forward_hook(lambda m, a, o: order.append("b"), prepend=True)
    fc.register_forward_pre_hook(lambda m, a, kw: (a, {}) if order.append(("kw", dict(kw))) is None else None,
                                 with_kwargs=True)
    fc(x)
    assert order == [("kw", {}), "b", "a"]


def test_full_backward_hook_matches_torch(torch, rng):
    x = randn(rng, (4, 3))
    fc = nn.Linear(3, 2).double()
    tfc = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        tfc.weight.copy_(tt(torch, fc.weight))
        tfc.bias.copy_(tt(torch, fc.bias))
    got, want = [], []
    fc.register_full_backward_hook(lambda m, gi, go: got.append((gi, go)))
    tfc.register_full_backward_hook(lambda m, gi, go: want.append((gi, go)))
    tx = tt(torch, x).requires_grad_()
    (fc(x) ** 2).sum().backward()
    (tfc(tx) ** 2).sum().backward()
    (gi, go), (tgi, tgo) = got[0], want[0]
    assert len(gi) == len(tgi) == 1 and len(go) == len(tgo) == 1
    close(gi[0], tgi[0])
    close(go[0], tgo[0])
    close(x.grad, tx.grad)


def test_backward_hook_replaces_grad_input(rng):
    x = randn(rng, (2, 3))
    act = nn.Tanh()
    act.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0 + 7,))
    act(x).sum().backward()
    close(x.grad, np.full((2, 3), 7.0))


def test_backward_pre_hook_and_no_grad_input(rng):
    fc = nn.Linear(3, 2).double()
    seen = []
    fc.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    fc.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    x = randn(rng, (4, 3), requires_grad=False)  # no input requires grad: hooks run at the outputs
    fc(x).sum().backward()
    gi, go = seen[0]
    assert gi == (None,)
    close(go[0], np.full((4, 2), 2.0))
    close(fc.bias.grad, np.full(2, 8.0))  # the pre-hook doubled grad_output


def test_hooks_on_sequential_children(rng):
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    names = []
    for name, m in net.named_children():
        m.register_full_backward_hook(lambda m, gi, go, name=name: names.append(name))
    x = randn(rng, (5, 3))
    net(x).sum().backward()
    assert names == ["2", "1", "0"]
    assert x.grad is not None


# --- activations and dropout --------------------------------------------------------------------------
@pytest.mark.parametrize("cls,fn", [(nn.ReLU, "relu"), (nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh")])
def test_activation_modules(device, rng, cls, fn):
    x = randn(rng, (33, 65), device, requires_grad=False)
    close(cls()(x), getattr(x, fn)())
    close(getattr(F, fn)(x), getattr(x, fn)())


def test_relu_inplace():
    x = tg.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(x) is x
    assert x.tolist() == [0.0, 2.0]


def test_dropout(device):
    tg.manual_seed(0)
    x = tg.ones(200, 97, device=device)
    d = nn.Dropout(0.25)
    y = d(x)
    values = np.unique(y.cpu().numpy())
    assert len(values) == 2 and values[0] == 0.0 and abs(values[1] - 1 / 0.75) < 1e-6
    assert abs((y == 0).float().mean().item() - 0.25) < 0.02
    d.eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert (nn.Dropout(1.0)(x) == 0).all().item()
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    w = tg.ones(5, 4, device=device, requires_grad=True)
    out = F.dropout(w, 0.5)
    out.sum().backward()
    close(w.grad, out.detach())  # the gradient is the scaled mask


# --- softmax and log_softmax --------------------------------------------------------------------------
SOFTMAX_CASES = [((1,), 0), ((97,), 0), ((33, 65), 1), ((33, 65), 0), ((3, 1, 17), -1), ((3, 4, 5), 1)]


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_softmax_values_match_torch(torch, device, rng, name, shape, dim):
    x = randn(rng, shape, device, dtype=tg.float32, requires_grad=False) * 10
    y = getattr(F, name)(x, dim)
    assert y.dtype is tg.float32 and y.device == tg.device(device)
    close(y, getattr(torch.nn.functional, name)(tt(torch, x), dim), TOL["float32"])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((5, 7), 1), ((3, 4, 5), 1), ((97,), 0), ((3, 1, 17), 0)])
def test_softmax_grad(device, rng, name, shape, dim):
    x = randn(rng, shape, device)
    check_grad(lambda x: getattr(F, name)(x, dim), [x])


def test_softmax_is_stable_and_named(torch, device):
    x = tg.tensor([[1000.0, 0.0, -1000.0], [-1e30, -1e30, 0.0]], device=device, requires_grad=True)
    y = F.log_softmax(x, 1)
    close(y, torch.log_softmax(torch.tensor([[1000.0, 0.0, -1000.0], [-1e30, -1e30, 0.0]]), 1), TOL["float32"])
    assert y.grad_fn.name() == "LogSoftmaxBackward0"
    assert F.softmax(x, 1).grad_fn.name() == "SoftmaxBackward0"
    assert F.softmax(tg.tensor(3.0), 0).item() == 1.0
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        F.softmax(x)
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.log_softmax(x, 2)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_double_backward_matches_torch(torch, device, rng, name):
    x = randn(rng, (4, 6), device)
    g = randn(rng, (4, 6), device, requires_grad=False)
    (gx,) = tg.autograd.grad(getattr(F, name)(x, 1), x, g, create_graph=True)
    (gx * gx).sum().backward()
    tx = tt(torch, x).requires_grad_()
    (tgx,) = torch.autograd.grad(getattr(torch.nn.functional, name)(tx, 1), tx, tt(torch, g), create_graph=True)
    (tgx * tgx).sum().backward()
    close(gx, tgx)
    close(x.grad, tx.grad)
    assert gx.grad_fn.name() == ("LogSoftmaxBackwardDataBackward0" if name == "log_softmax"
                                 else "SoftmaxBackwardDataBackward0")


@pytest.mark.cuda
@pytest.mark.skipif(not tg.cuda.is_available(), reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")
@pytest.mark.parametrize("max_single", [4096, 4])  # 4: rows longer than a block take the looping path
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64, tg.float16])
@pytest.mark.parametrize("shape,dim", [((5, 11), 1), ((3, 13, 2), 1), ((1,), 0), ((7, 3), 0), ((0, 4), 1)])
def test_softmax_kernels_match_cpu(monkeypatch, rng, max_single, dtype, shape, dim):
    from tritongrad.kernels import loss

    monkeypatch.setattr(loss, "MAX_SINGLE", max_single)
    cpu, cuda = tg.backends.get("cpu"), tg.backends.get("cuda")
    x = (rng.standard_normal(shape) * 4).astype(dtype.np)
    if x.size and shape[dim] > 1:
        x.flat[0] = -np.inf  # a -inf in a row is fine (exp gives 0)
    g = rng.standard_normal(shape).astype(dtype.np)
    tol = TOL[dtype.name]
    for fwd, bwd in (("softmax", "softmax_backward"), ("log_softmax", "log_softmax_backward")):
        ref = getattr(cpu, fwd)(x.astype(np.float64), dim)
        y = cuda.to_numpy(getattr(cuda, fwd)(cuda.from_numpy(x), dim))
        np.testing.assert_allclose(y.astype(np.float64), ref, **tol)
        y = ref.astype(dtype.np)
        ref_b = getattr(cpu, bwd)(g.astype(np.float64), y.astype(np.float64), dim)
        dx = cuda.to_numpy(getattr(cuda, bwd)(cuda.from_numpy(g), cuda.from_numpy(y), dim))
        np.testing.assert_allclose(dx.astype(np.float64), ref_b, **tol)


# --- losses --------------------------------------------------------------------------------------------
def _ce_inputs(torch, device, rng, shape, dtype=tg.float64):
    x = randn(rng, shape, device, dtype=dtype)
    n_classes = shape[1] if len(shape) > 1 else shape[0]
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    target = tg.tensor(rng.integers(0, n_classes, size=tshape), device=device)
    return x, target, tt(torch, x).requires_grad_(), torch.tensor(target.cpu().numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(5, 7), (1, 3), (7,), (3, 4, 5)])
def test_cross_entropy_matches_torch(torch, device, rng, reduction, shape):
    x, target, tx, ttarget = _ce_inputs(torch, device, rng, shape)
    loss = nn.CrossEntropyLoss(reduction=reduction)(x, target)
    tloss = torch.nn.CrossEntropyLoss(reduction=reduction)(tx, ttarget)
    close(loss, tloss)
    w = randn(rng, loss.shape, device, requires_grad=False)
    loss.backward(w)
    tloss.backward(tt(torch, w))
    close(x.grad, tx.grad)
    assert loss.grad_fn.name() == "NllLossBackward0"
    assert loss.grad_fn.next_functions[0][0].name() == "LogSoftmaxBackward0"


@pytest.mark.parametrize("kwargs", [dict(ignore_index=2), dict(weight=True), dict(weight=True, ignore_index=0),
                                    dict(label_smoothing=0.1), dict(label_smoothing=0.2, weight=True)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_options_match_torch(torch, device, rng, kwargs, reduction):
    x, target, tx, ttarget = _ce_inputs(torch, device, rng, (6, 4))
    kw, tkw = dict(kwargs), dict(kwargs)
    if kw.pop("weight", None):
        weight = tg.tensor(rng.uniform(0.5, 2.0, 4), device=device)
        kw["weight"], tkw["weight"] = weight, torch.tensor(weight.cpu().numpy())
    loss = F.cross_entropy(x, target, reduction=reduction, **kw)
    tloss = torch.nn.functional.cross_entropy(tx, ttarget, reduction=reduction, **tkw)
    close(loss, tloss)
    loss.sum().backward()
    tloss.sum().backward()
    close(x.grad, tx.grad)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probability_targets(torch, device, rng, label_smoothing, reduction):
    x = randn(rng, (5, 3, 2), device)
    p = rng.uniform(0.1, 1.0, (5, 3, 2))
    p /= p.sum(1, keepdims=True)
    target = tg.tensor(p, device=device)
    tx = tt(torch, x).requires_grad_()
    loss = F.cross_entropy(x, target, reduction=reduction, label_smoothing=label_smoothing)
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(p), reduction=reduction,
                                              label_smoothing=label_smoothing)
    close(loss, tloss)
    loss.sum().backward()
    tloss.sum().backward()
    close(x.grad, tx.grad)


def test_cross_entropy_finite_differences(device, rng):
    target = tg.tensor(rng.integers(0, 5, size=(4,)), device=device)
    x = randn(rng, (4, 5), device)
    check_grad(lambda x: F.cross_entropy(x, target.cpu() if not x.is_cuda else target, reduction="none"), [x])


def test_cross_entropy_float32_and_nll(torch, device, rng):
    x, target, tx, ttarget = _ce_inputs(torch, device, rng, (33, 10), dtype=tg.float32)
    close(F.cross_entropy(x, target), torch.nn.functional.cross_entropy(tx, ttarget), TOL["float32"])
    logp = F.log_softmax(x, 1)
    close(nn.NLLLoss()(logp, target), torch.nn.functional.nll_loss(torch.log_softmax(tx, 1), ttarget), TOL["float32"])


def test_cross_entropy_errors(torch):
    x = tg.randn(3, 4)
    with pytest.raises(IndexError, match="Target 4 is out of bounds."):
        F.cross_entropy(x, tg.tensor([0, 4, 1]))
    with pytest.raises(RuntimeError, match="expected scalar type Long but found Int"):
        F.cross_entropy(x, tg.tensor([0, 1, 1], dtype=tg.int32))
    with pytest.raises(ValueError) as ours:
        F.cross_entropy(x, tg.tensor([0, 1]))
    with pytest.raises(ValueError) as theirs:
        torch.nn.functional.cross_entropy(torch.randn(3, 4), torch.tensor([0, 1]))
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="bogus is not a valid value for reduction"):
        nn.CrossEntropyLoss(reduction="bogus")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_torch(torch, device, rng, reduction):
    x = randn(rng, (33, 65), device)
    y = randn(rng, (33, 65), device)
    tx, ty = tt(torch, x).requires_grad_(), tt(torch, y).requires_grad_()
    loss = nn.MSELoss(reduction=reduction)(x, y)
    tloss = torch.nn.MSELoss(reduction=reduction)(tx, ty)
    close(loss, tloss)
    loss.sum().backward()
    tloss.sum().backward()
    close(x.grad, tx.grad)
    close(y.grad, ty.grad)
    assert loss.grad_fn.name() == "MseLossBackward0"


def test_mse_loss_broadcast_grad(rng):
    x, y = randn(rng, (3, 1, 17)), randn(rng, (17,))
    with pytest.warns(UserWarning, match="different to the input size"):
        check_grad(lambda x, y: F.mse_loss(x, y), [x, y])


def test_training_step_decreases_loss(device):
    tg.manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    x = tg.randn(6, 4, device=device)
    y = tg.tensor([0, 1, 2, 0, 1, 2], device=device)
    opt = tg.optim.SGD(net.parameters(), lr=0.5)
    losses = []
    for _ in range(3):
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[2] < losses[0]
