"""tritongrad.optim: SGD / Adam / AdamW / RMSprop / Adagrad / Adadelta trajectories against torch.optim
(same init, same grads, several steps, every option), param groups, zero_grad, state_dict /
load_state_dict, errors (and that a failed step or load changes nothing), and the fused CUDA step
kernels against the NumPy reference.
"""
import numpy as np
import pytest
from helpers import TOL

import tritongrad as tg
from tritongrad import nn, optim

SHAPES = [(3, 4), (97,), (1,), (3, 1, 17)]

SGD_CASES = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.3),
             dict(lr=0.1, momentum=0.8, nesterov=True), dict(lr=0.1, weight_decay=0.1),
             dict(lr=0.1, momentum=0.9, weight_decay=0.01, maximize=True),
             dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=True)]
ADAM_CASES = [dict(lr=0.01), dict(lr=0.02, betas=(0.8, 0.95)), dict(lr=0.01, weight_decay=0.1),
              dict(lr=0.01, amsgrad=True), dict(lr=0.01, eps=1e-3), dict(lr=0.01, maximize=True),
              dict(lr=0.01, weight_decay=0.05, amsgrad=True, maximize=True)]
RMSPROP_CASES = [dict(lr=0.01), dict(lr=0.01, alpha=0.9, eps=1e-3), dict(lr=0.01, momentum=0.9),
                 dict(lr=0.01, centered=True), dict(lr=0.01, weight_decay=0.1, maximize=True),
                 dict(lr=0.01, alpha=0.4, momentum=0.5, centered=True, weight_decay=0.05, maximize=True)]
ADAGRAD_CASES = [dict(lr=0.1), dict(lr=0.1, lr_decay=0.05), dict(lr=0.1, initial_accumulator_value=0.3, eps=1e-3),
                 dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1, maximize=True)]
ADADELTA_CASES = [dict(), dict(lr=0.5, rho=0.7), dict(eps=1e-3, weight_decay=0.1),
                  dict(lr=0.3, rho=0.95, eps=1e-4, weight_decay=0.05, maximize=True)]
CLASSES = {"SGD": (optim.SGD, SGD_CASES), "Adam": (optim.Adam, ADAM_CASES), "AdamW": (optim.AdamW, ADAM_CASES),
           "RMSprop": (optim.RMSprop, RMSPROP_CASES), "Adagrad": (optim.Adagrad, ADAGRAD_CASES),
           "Adadelta": (optim.Adadelta, ADADELTA_CASES)}
CASES = [(name, kw) for name, (_, cases) in CLASSES.items() for kw in cases]


def case_id(case):
    name, kw = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def problem(rng, dtype, steps):
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return init, grads


def run_tg(cls, kw, init, grads, device="cpu"):
    params = [nn.Parameter(tg.tensor(a, device=device)) for a in init]
    opt = cls(params, **kw)
    for g in grads:
        for p, a in zip(params, g):
            p.grad = tg.tensor(a, device=device)
        opt.step()
    return params, opt


def run_torch(torch, name, kw, init, grads):
    params = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    opt = getattr(torch.optim, name)(params, **kw)
    for g in grads:
        for p, a in zip(params, g):
            p.grad = torch.tensor(a)
        opt.step()
    return params, opt


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_trajectory_matches_torch(torch, rng, case, dtype):
    name, kw = case
    init, grads = problem(rng, dtype, steps=6)
    ours, _ = run_tg(CLASSES[name][0], kw, init, grads)
    theirs, _ = run_torch(torch, name, kw, init, grads)
    tol = dict(atol=1e-12, rtol=1e-11) if dtype == "float64" else TOL["float32"]
    for p, q in zip(ours, theirs):
        assert p.dtype.name == dtype
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), **tol)


@pytest.mark.parametrize("case", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)),
                                  ("Adam", dict(lr=0.01, weight_decay=0.05, amsgrad=True)),
                                  ("AdamW", dict(lr=0.01, maximize=True)), ("RMSprop", RMSPROP_CASES[-1]),
                                  ("Adagrad", ADAGRAD_CASES[-1]), ("Adadelta", ADADELTA_CASES[-1])], ids=case_id)
def test_device_trajectory_matches_cpu(device, rng, case):
    name, kw = case
    init, grads = problem(rng, "float32", steps=2)
    cpu, _ = run_tg(CLASSES[name][0], kw, init, grads)
    dev, opt = run_tg(CLASSES[name][0], kw, init, grads, device)
    for p, q in zip(dev, cpu):
        assert p.device == tg.device(device)
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), **TOL["float32"])
    for state in opt.state.values():
        for k, v in state.items():
            assert v.device == tg.device("cpu" if k == "step" else device)


def test_param_groups_and_skipped_params(torch, rng):
    a, b, c = (rng.standard_normal(s) for s in [(3,), (2, 2), (4,)])
    ours = [nn.Parameter(tg.tensor(x)) for x in (a, b, c)]
    theirs = [torch.nn.Parameter(torch.tensor(x)) for x in (a, b, c)]
    o1 = optim.SGD([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.5, "momentum": 0.5}], lr=0.1, momentum=0.9)
    o2 = torch.optim.SGD([{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.5, "momentum": 0.5}], lr=0.1,
                         momentum=0.9)
    for step in range(3):
        for i, (p, q) in enumerate(zip(ours, theirs)):
            g = rng.standard_normal(p.shape)
            if i == 1 and step == 0:  # a parameter without a gradient is skipped
                p.grad, q.grad = None, None
                continue
            p.grad, q.grad = tg.tensor(g), torch.tensor(g)
        o1.step()
        o2.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), atol=1e-12, rtol=1e-11)
    assert [g["lr"] for g in o1.param_groups] == [0.1, 0.5]
    assert [g["momentum"] for g in o1.param_groups] == [0.9, 0.5]


def test_zero_grad():
    p = nn.Parameter(tg.randn(3))
    opt = optim.SGD([p], lr=0.1)
    (p * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and p.grad.tolist() == [0.0, 0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_step_bumps_version_and_closure():
    p = nn.Parameter(tg.tensor([1.0, 2.0]))
    opt = optim.Adam([p], lr=0.1)
    y = p * p  # saves p for backward
    y.sum().backward(retain_graph=True)
    v = p._version
    opt.step()
    assert p._version == v + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert isinstance(loss, tg.Tensor) and loss.item() > 0


@pytest.mark.parametrize("name", list(CLASSES))
def test_state_dict_matches_torch_and_resumes(torch, rng, name):
    cls, cases = CLASSES[name]
    kw = cases[-1]
    init, grads = problem(rng, "float64", steps=5)
    full, _ = run_tg(cls, kw, init, grads)
    first, opt = run_tg(cls, kw, init, grads[:3])
    _, topt = run_torch(torch, name, kw, init, grads[:3])
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"][0]["params"] == tsd["param_groups"][0]["params"]
    assert {k: v for k, v in sd["param_groups"][0].items() if k != "params"}.items() <= tsd["param_groups"][0].items()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for i, state in sd["state"].items():
        assert sorted(state) == sorted(tsd["state"][i])
        for k, v in state.items():
            np.testing.assert_allclose(v.numpy(), tsd["state"][i][k].numpy(), atol=1e-12, rtol=1e-11)
    # resume: a fresh optimizer on the same parameters, loaded from the state dict
    resumed = cls(first, **{k: (0.5 if k == "lr" else v) for k, v in kw.items()})  # lr comes from the state dict
    resumed.load_state_dict(sd)
    assert resumed.param_groups[0]["lr"] == kw["lr"]
    for g in grads[3:]:
        for p, a in zip(first, g):
            p.grad = tg.tensor(a)
        resumed.step()
    for p, q in zip(first, full):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), atol=1e-12, rtol=1e-11)
    # loaded state is a copy, cast to each parameter's dtype
    key = next(iter(sd["state"][0]))
    assert resumed.state[first[0]][key] is not sd["state"][0][key]


def test_load_state_dict_casts_to_param_dtype():
    p32 = nn.Parameter(tg.randn(4))
    p64 = nn.Parameter(tg.randn(4, dtype=tg.float64))
    p64.grad = tg.randn(4, dtype=tg.float64)
    src = optim.Adam([p64])
    src.step()
    dst = optim.Adam([p32])
    dst.load_state_dict(src.state_dict())
    state = dst.state[p32]
    assert state["exp_avg"].dtype is tg.float32 and state["step"].dtype is tg.float32
    assert state["step"].item() == 1.0


def test_load_state_dict_errors_match_torch(torch):
    ours, theirs = optim.SGD([nn.Parameter(tg.randn(2))], lr=0.1), torch.optim.SGD([torch.randn(2)], lr=0.1)
    two = optim.SGD([{"params": [nn.Parameter(tg.randn(2))]}, {"params": [nn.Parameter(tg.randn(2))]}], lr=0.1)
    ttwo = torch.optim.SGD([{"params": [torch.randn(2)]}, {"params": [torch.randn(2)]}], lr=0.1)
    for o, src in ((ours, two), (theirs, ttwo)):
        with pytest.raises(ValueError, match="different number of parameter groups"):
            o.load_state_dict(src.state_dict())
    bigger = optim.SGD([nn.Parameter(tg.randn(2)), nn.Parameter(tg.randn(2))], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        ours.load_state_dict(bigger.state_dict())


@pytest.mark.parametrize("name,kw", [
    ("SGD", dict(lr=-1)), ("SGD", dict(momentum=-0.5)), ("SGD", dict(weight_decay=-1)), ("SGD", dict(nesterov=True)),
    ("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True)), ("Adam", dict(lr=-0.1)), ("Adam", dict(eps=-1)),
    ("Adam", dict(betas=(1.0, 0.9))), ("Adam", dict(betas=(0.9, -0.1))), ("AdamW", dict(weight_decay=-2)),
    ("RMSprop", dict(lr=-1)), ("RMSprop", dict(eps=-1)), ("RMSprop", dict(momentum=-1)),
    ("RMSprop", dict(weight_decay=-1)), ("RMSprop", dict(alpha=-0.5)), ("Adagrad", dict(lr=-1)),
    ("Adagrad", dict(lr_decay=-1)), ("Adagrad", dict(weight_decay=-1)), ("Adagrad", dict(initial_accumulator_value=-1)),
    ("Adagrad", dict(eps=-1)), ("Adadelta", dict(lr=-1)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(eps=-1)),
    ("Adadelta", dict(weight_decay=-1))])
def test_errors_match_torch(torch, name, kw):
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([nn.Parameter(tg.randn(2))], **kw)
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.randn(2))], **kw)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        getattr(optim, name)([])


@pytest.mark.parametrize("name", list(CLASSES))
def test_integral_parameter_and_string_lr_raise_as_torch(torch, name):
    """An integer parameter raises PyTorch's error (it used to be truncated silently) and leaves the
    parameter alone; lr="a" raises PyTorch's TypeError, not a NumPy error."""
    p, q = tg.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    ours, theirs = getattr(optim, name)([p], lr=0.1), getattr(torch.optim, name)([q], lr=0.1)
    p.grad, q.grad = tg.tensor([1, 1, 1]), torch.tensor([1, 1, 1])
    with pytest.raises(Exception) as e2:
        theirs.step()
    with pytest.raises(type(e2.value)) as e1:
        ours.step()
    assert str(e1.value) == str(e2.value)
    assert p.tolist() == [1, 2, 3] and ours.state.get(p, {}).get("step", 0) == 0  # (Adagrad's state exists at 0)
    with pytest.raises(TypeError) as e2:
        getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], lr="a")
    with pytest.raises(TypeError) as e1:
        getattr(optim, name)([tg.ones(2, requires_grad=True)], lr="a")
    assert str(e1.value) == str(e2.value)


@pytest.mark.parametrize("name", list(CLASSES))
def test_failed_step_changes_nothing(rng, name):
    """Every parameter and hyper-parameter is checked before the first update: one bad parameter
    (last in the list) or a bad lr leaves the others, their versions and the state unchanged."""
    cls, cases = CLASSES[name]
    params = [nn.Parameter(tg.tensor(rng.standard_normal(s))) for s in SHAPES]
    opt = cls(params, **cases[-1])
    for p in params:
        p.grad = tg.tensor(rng.standard_normal(p.shape))
    opt.step()
    snapshot = [p.detach().numpy().copy() for p in params]
    state = {i: {k: v.numpy().copy() for k, v in s.items()} for i, s in opt.state_dict()["state"].items()}
    versions = [p._version for p in params]
    params[-1].data = tg.randn(5, 5, dtype=tg.float64)  # its gradient no longer fits
    with pytest.raises(RuntimeError, match="has a gradient of shape"):
        opt.step()
    params[-1].data = tg.tensor(snapshot[-1])
    opt.param_groups[0]["lr"] = "a"
    with pytest.raises(TypeError, match="'lr' must be a real number"):
        opt.step()
    assert [p._version for p in params[:-1]] == versions[:-1]
    for p, a in zip(params, snapshot):
        np.testing.assert_array_equal(p.detach().numpy(), a)
    for i, s in opt.state_dict()["state"].items():
        for k, v in s.items():
            np.testing.assert_array_equal(v.numpy(), state[i][k])


def test_failed_load_state_dict_changes_nothing(rng):
    params = [nn.Parameter(tg.tensor(rng.standard_normal(s))) for s in SHAPES]
    opt = optim.Adam(params, lr=0.01)
    for p in params:
        p.grad = tg.tensor(rng.standard_normal(p.shape))
    opt.step()
    sd = opt.state_dict()
    bad = {"state": {i: dict(s) for i, s in sd["state"].items()}, "param_groups": [dict(sd["param_groups"][0])]}
    bad["state"][len(SHAPES) - 1]["exp_avg"] = tg.zeros(2, dtype=tg.float64)
    bad["param_groups"][0]["lr"] = 0.5
    before = opt.state[params[0]]["exp_avg"]
    with pytest.raises(ValueError, match="'exp_avg' of shape \\[2\\] for a parameter of shape \\[3, 1, 17\\]"):
        opt.load_state_dict(bad)
    bad["state"][len(SHAPES) - 1]["exp_avg"] = sd["state"][len(SHAPES) - 1]["exp_avg"]
    bad["param_groups"][0]["eps"] = None
    with pytest.raises(TypeError, match="'eps' must be a real number"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["lr"] == 0.01 and opt.state[params[0]]["exp_avg"] is before


def test_type_errors_match_torch(torch):
    with pytest.raises(TypeError) as ours:
        optim.SGD(tg.randn(2, requires_grad=True), lr=0.1)
    with pytest.raises(TypeError) as theirs:
        torch.optim.SGD(torch.randn(2, requires_grad=True), lr=0.1)
    assert str(ours.value) == str(theirs.value).replace("torch.", "tritongrad.")
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([tg.randn(2, requires_grad=True) * 2], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {nn.Parameter(tg.randn(2))}}], lr=0.1)
    p = nn.Parameter(tg.randn(2))
    o = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        o.add_param_group({"params": [p]})


def test_repr():
    opt = optim.SGD([nn.Parameter(tg.randn(2))], lr=0.1, momentum=0.9)
    assert repr(opt) == ("SGD (\nParameter Group 0\n    dampening: 0\n    lr: 0.1\n    maximize: False\n"
                         "    momentum: 0.9\n    nesterov: False\n    weight_decay: 0\n)")


# --- the fused kernels against the NumPy reference ------------------------------------------------------
needs_cuda = pytest.mark.skipif(not tg.cuda.is_available(),
                                reason="no CUDA device (set TRITONGRAD_EMULATE_CUDA=1 to emulate one)")


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64, tg.float16])
@pytest.mark.parametrize("kw", [dict(momentum=0, dampening=0, nesterov=False, weight_decay=0, maximize=False),
                                dict(momentum=0.9, dampening=0.2, nesterov=False, weight_decay=0.1, maximize=True),
                                dict(momentum=0.9, dampening=0, nesterov=True, weight_decay=0.01, maximize=False)])
@pytest.mark.parametrize("first", [True, False])
def test_sgd_step_kernel_matches_cpu(rng, dtype, kw, first):
    cpu, cuda = tg.backends.get("cpu"), tg.backends.get("cuda")
    p, g, buf = (rng.standard_normal((33, 65)).astype(dtype.np) for _ in range(3))
    dp, dg, dbuf = cuda.from_numpy(p), cuda.from_numpy(g), cuda.from_numpy(buf)
    has_buf = kw["momentum"] != 0
    cpu.sgd_step(p, g, buf if has_buf else None, 0.1, first=first, **kw)
    cuda.sgd_step(dp, dg, dbuf if has_buf else None, 0.1, first=first, **kw)
    np.testing.assert_allclose(cuda.to_numpy(dp), p, **TOL[dtype.name])
    np.testing.assert_allclose(cuda.to_numpy(dbuf), buf, **TOL[dtype.name])


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64, tg.float16])
@pytest.mark.parametrize("kw", [dict(weight_decay=0, decoupled=False, amsgrad=False, maximize=False),
                                dict(weight_decay=0.1, decoupled=False, amsgrad=True, maximize=True),
                                dict(weight_decay=0.1, decoupled=True, amsgrad=True, maximize=False)])
def test_adam_step_kernel_matches_cpu(rng, dtype, kw):
    cpu, cuda = tg.backends.get("cpu"), tg.backends.get("cuda")
    arrays = [rng.standard_normal((97,)).astype(dtype.np) for _ in range(5)]
    arrays[3], arrays[4] = np.abs(arrays[3]), np.abs(arrays[4])  # second moments are >= 0
    dev = [cuda.from_numpy(a) for a in arrays]
    cpu.adam_step(*arrays, 4, 0.01, 0.9, 0.999, 1e-8, **kw)
    cuda.adam_step(*dev, 4, 0.01, 0.9, 0.999, 1e-8, **kw)
    for a, d in zip(arrays, dev):
        np.testing.assert_allclose(cuda.to_numpy(d), a, **TOL[dtype.name])


@pytest.mark.cuda
@needs_cuda
def test_step_kernels_on_views(rng):
    """A transposed parameter and a broadcast gradient go through contiguous copies, written back."""
    cpu, cuda = tg.backends.get("cpu"), tg.backends.get("cuda")
    p = rng.standard_normal((4, 6)).astype(np.float32)
    g = rng.standard_normal((6,)).astype(np.float32)
    m, v = np.zeros((6, 4), np.float32), np.zeros((6, 4), np.float32)
    dp = cuda.permute(cuda.from_numpy(p), (1, 0))
    dg = cuda.expand(cuda.view(cuda.from_numpy(g), (6, 1)), (6, 4))
    dm, dv = cuda.from_numpy(m), cuda.from_numpy(v)
    pt = p.T.copy()
    cpu.adam_step(pt, np.broadcast_to(g[:, None], (6, 4)), m, v, None, 1, 0.1, 0.9, 0.999, 1e-8, 0.01, True, False,
                  False)
    cuda.adam_step(dp, dg, dm, dv, None, 1, 0.1, 0.9, 0.999, 1e-8, 0.01, True, False, False)
    np.testing.assert_allclose(cuda.to_numpy(dp), pt, **TOL["float32"])
    np.testing.assert_allclose(cuda.to_numpy(dm), m, **TOL["float32"])
