"""tritongrad.optim.lr_scheduler: the learning-rate (and momentum) sequences of every scheduler equal
PyTorch's, bit for bit, over two parameter groups; get_last_lr, state_dict / load_state_dict,
step(epoch), the warnings, and argument errors."""
import math
import warnings

import pytest

import tritongrad as tg
from tritongrad import nn, optim
from tritongrad.optim import lr_scheduler


class Scale:
    """A callable object as lr_lambda: its __dict__ goes into LambdaLR's state_dict."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, epoch):
        return self.factor ** epoch


CASES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.001)),  # 15 steps: past T_max, the cosine goes on
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (e + 1))),
    ("LambdaLR", dict(lr_lambda=[Scale(0.9), lambda e: 0.5 ** e])),
    ("LinearLR", dict(start_factor=0.25, end_factor=0.9, total_iters=6)),
    ("LinearLR", {}),
    ("OneCycleLR", dict(max_lr=[0.5, 1.0], total_steps=16)),
    ("OneCycleLR", dict(max_lr=0.5, epochs=2, steps_per_epoch=8, anneal_strategy="linear", three_phase=True,
                        pct_start=0.25)),
]
STEPS = 15


def make(lib, opt_name="SGD", **kw):
    """An optimizer with two parameter groups (lr 0.1 and 0.03), in tritongrad or PyTorch."""
    p, q = (lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(3)))
    kw = dict(momentum=0.9) if opt_name == "SGD" else kw
    return getattr(lib.optim, opt_name)([{"params": [p]}, {"params": [q], "lr": 0.03}], lr=0.1, **kw)


def run(lib, name, kwargs, opt_name="SGD"):
    opt = make(lib, opt_name)
    sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
    seq = [sched.get_last_lr()]
    momenta = [[g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups]]
    for _ in range(STEPS):
        opt.step()
        sched.step()
        seq.append(sched.get_last_lr())
        momenta.append([g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups])
        assert seq[-1] == [g["lr"] for g in opt.param_groups]
    return seq, momenta, sched


@pytest.mark.parametrize("name,kwargs", CASES, ids=lambda c: str(c) if isinstance(c, str) else "")
def test_sequences_match_torch(torch, name, kwargs):
    ours, our_momenta, sched = run(tg, name, kwargs)
    theirs, their_momenta, tsched = run(torch, name, kwargs)
    assert ours == theirs  # exact: the same formulas in the same order
    assert our_momenta == their_momenta
    assert sorted(sched.state_dict()) == sorted(tsched.state_dict())


def test_one_cycle_cycles_adam_betas(torch):
    kw = dict(max_lr=0.2, total_steps=STEPS + 1)
    ours, our_momenta, _ = run(tg, "OneCycleLR", kw, "Adam")
    theirs, their_momenta, _ = run(torch, "OneCycleLR", kw, "Adam")
    assert ours == theirs and our_momenta == their_momenta


def test_reduce_lr_on_plateau_matches_torch(torch):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    for kw in [dict(patience=2), dict(mode="max", factor=0.5, patience=1, threshold_mode="abs", threshold=0.01),
               dict(patience=0, cooldown=2, min_lr=[0.01, 0.02]), dict(patience=1, min_lr=0.05, eps=0.02)]:
        seqs = []
        for lib in (tg, torch):
            opt = make(lib)
            sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
            seq = [sched.get_last_lr()]
            for m in metrics:
                sched.step(lib.tensor(m) if lib is tg else m)
                seq.append(sched.get_last_lr())
            seqs.append(seq)
        assert seqs[0] == seqs[1]


def test_state_dict_resumes(torch):
    """A scheduler rebuilt on a fresh optimizer and loaded from a state dict goes on as the original
    (built before the optimizer's state is loaded: building one sets the groups' lr, as PyTorch's)."""
    for name, kwargs in CASES:
        opt = make(tg)
        sched = getattr(lr_scheduler, name)(opt, **kwargs)
        for _ in range(5):
            opt.step()
            sched.step()
        state = sched.state_dict()
        assert "optimizer" not in state
        opt2 = make(tg)
        sched2 = getattr(lr_scheduler, name)(opt2, **kwargs)
        opt2.load_state_dict(opt.state_dict())
        sched2.load_state_dict(state)
        for _ in range(5):
            for o, s in ((opt, sched), (opt2, sched2)):
                o.step()
                s.step()
            assert sched.get_last_lr() == sched2.get_last_lr()


def test_closed_form_step_epoch_and_warnings(torch):
    seqs = []
    for lib in (tg, torch):
        opt = make(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        with pytest.warns(UserWarning, match="lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)"):
            sched.step()
        with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)` was not necessary"):
            sched.step(7)
        with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
            sched.get_lr()
        seqs.append(sched.get_last_lr())
    assert seqs[0] == seqs[1]
    opt = make(tg)
    sched = lr_scheduler.StepLR(opt, 2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()  # in the right order: no warning


@pytest.mark.parametrize("name,kwargs", [
    ("LinearLR", dict(start_factor=0)), ("LinearLR", dict(end_factor=1.5)), ("OneCycleLR", dict(max_lr=0.1)),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=0)), ("OneCycleLR", dict(max_lr=0.1, total_steps=5, pct_start=1)),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=5, anneal_strategy="exp")),
    ("OneCycleLR", dict(max_lr=[0.1], total_steps=5)), ("LambdaLR", dict(lr_lambda=[math.exp])),
    ("ReduceLROnPlateau", dict(factor=1.0)), ("ReduceLROnPlateau", dict(mode="avg")),
    ("ReduceLROnPlateau", dict(min_lr=[0.1]))])
def test_errors_match_torch(torch, name, kwargs):
    with pytest.raises(Exception) as theirs:
        getattr(torch.optim.lr_scheduler, name)(make(torch), **kwargs)
    with pytest.raises(type(theirs.value)) as ours:
        getattr(lr_scheduler, name)(make(tg), **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_resume_needs_initial_lr_and_an_optimizer(torch):
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\]"):
        lr_scheduler.StepLR(make(tg), 2, last_epoch=3)
    with pytest.raises(TypeError, match="SGD is not an Optimizer"):
        lr_scheduler.StepLR(torch.optim.SGD([torch.ones(1)], lr=0.1), 2)
    opt = optim.SGD([nn.Parameter(tg.ones(1))], lr=0.1)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    opt.step()
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of total steps is 2"):
        sched.step()
