"""PyTorch's autograd surface beside the engine: grad_fn._saved_* attributes, saved-tensor pack hooks'
order, Variable, _is_view/_base, inference_mode, bare grad-mode decorators and node names; each
checked against PyTorch (the `torch` fixture) on both devices."""
import numpy as np
import pytest

import tritongrad as tg


def _pair(torch, device, rng, shapes, requires_grad=None):
    """The same random float64 leaves in tritongrad (on device) and in torch (CPU)."""
    requires_grad = requires_grad or (True,) * len(shapes)
    arrays = [rng.standard_normal(s) + 0.1 for s in shapes]
    ours = [tg.tensor(a, device=device, requires_grad=r) for a, r in zip(arrays, requires_grad)]
    theirs = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, requires_grad)]
    return ours, theirs


def _np(t):
    return t.detach().cpu().numpy()


# name: (expression on (x, w, M, A), whether tritongrad keeps every attribute PyTorch has)
SAVED_CASES = {
    "mul": (lambda m, x, w, M, A: x * w, True),
    "mul_scalar": (lambda m, x, w, M, A: x * 2, True),
    "div": (lambda m, x, w, M, A: x / w, True),
    "div_scalar": (lambda m, x, w, M, A: x / 2.5, True),
    "pow_scalar": (lambda m, x, w, M, A: x ** 2, True),
    "pow_tensor": (lambda m, x, w, M, A: x.abs() ** w, True),
    "rpow": (lambda m, x, w, M, A: 2 ** x, False),
    "exp": (lambda m, x, w, M, A: x.exp(), True),
    "tanh": (lambda m, x, w, M, A: x.tanh(), True),
    "sigmoid": (lambda m, x, w, M, A: x.sigmoid(), True),
    "relu": (lambda m, x, w, M, A: x.relu(), True),
    "log": (lambda m, x, w, M, A: x.abs().log(), True),
    "sin": (lambda m, x, w, M, A: x.sin(), True),
    "sqrt": (lambda m, x, w, M, A: x.abs().sqrt(), True),
    "mm": (lambda m, x, w, M, A: A.mm(M), False),
    "mv": (lambda m, x, w, M, A: M.t() @ w, True),
    "dot": (lambda m, x, w, M, A: x @ w, True),
    "sum": (lambda m, x, w, M, A: M.sum(), True),
    "sum_dim": (lambda m, x, w, M, A: M.sum(1), True),
    "mean": (lambda m, x, w, M, A: M.mean(), True),
    "mean_dim": (lambda m, x, w, M, A: M.mean(0, keepdim=True), True),
    "view": (lambda m, x, w, M, A: M.view(-1), True),
    "permute": (lambda m, x, w, M, A: M.permute(1, 0), True),
    "transpose": (lambda m, x, w, M, A: M.transpose(0, 1), True),
    "t": (lambda m, x, w, M, A: M.t(), True),
    "expand": (lambda m, x, w, M, A: x.view(3, 1).expand(3, 4), True),
    "slice": (lambda m, x, w, M, A: x[1:], True),
    "slice_negative": (lambda m, x, w, M, A: M[:, -3:-1], True),
    "slice_after_select": (lambda m, x, w, M, A: M[1, 1:], True),
    "slice_after_none": (lambda m, x, w, M, A: x[None, 0:3:2], True),
    "select": (lambda m, x, w, M, A: M[1], True),
    "select_ellipsis": (lambda m, x, w, M, A: A[..., 1:, 2], True),
    "softmax": (lambda m, x, w, M, A: m.nn.functional.softmax(M, 1), True),
    "log_softmax": (lambda m, x, w, M, A: m.nn.functional.log_softmax(M, 0), True),
    "add": (lambda m, x, w, M, A: x + w, True),
    "sub": (lambda m, x, w, M, A: x - w, True),
    "rsub": (lambda m, x, w, M, A: 2 - x, True),
    "clamp": (lambda m, x, w, M, A: x.clamp(-0.5, 0.5), True),
    "clamp_min": (lambda m, x, w, M, A: x.clamp_min(0), True),
    "clamp_tensor": (lambda m, x, w, M, A: m.clamp(x, w, w + 1), True),
    "where": (lambda m, x, w, M, A: m.where(x > 0, x, w), True),
    "max": (lambda m, x, w, M, A: x.max(), True),
    "maximum": (lambda m, x, w, M, A: m.maximum(x, w), True),
    "mse": (lambda m, x, w, M, A: m.nn.functional.mse_loss(x, w), True),
}


@pytest.mark.parametrize("case", sorted(SAVED_CASES))
def test_saved_attributes_match_pytorch(torch, device, rng, case):
    fn, complete = SAVED_CASES[case]
    ours, theirs = _pair(torch, device, rng, [(3,), (3,), (3, 4), (2, 3)])
    y, ty = fn(tg, *ours), fn(torch, *theirs)
    node, tnode = y.grad_fn, ty.grad_fn
    assert node.name() == tnode.name()
    names = {a for a in dir(node) if a.startswith("_saved_")}
    tnames = {a for a in dir(tnode) if a.startswith("_saved_")}
    assert names == tnames if complete else names <= tnames, (names, tnames)
    for name in names:
        v, tv = getattr(node, name), getattr(tnode, name)
        if isinstance(tv, torch.Tensor):
            assert isinstance(v, tg.Tensor), name
            np.testing.assert_allclose(_np(v), tv.detach().numpy(), rtol=1e-12)
            assert [v is t for t in ours] == [tv is t for t in theirs], name  # the input itself, or not
            assert (v.grad_fn is node) == (tv.grad_fn is tnode), name  # the result comes back with its grad_fn
        else:
            assert type(v) is type(tv) and v == tv, (name, v, tv)
    assert not hasattr(node, "saved_tensors") and not hasattr(tnode, "saved_tensors")


def test_saved_tensor_after_backward_raises_pytorch_error(torch, device, rng):
    ours, theirs = _pair(torch, device, rng, [(5,), (5,)])
    msgs = []
    for x, w in (ours, theirs):
        y = x * w
        e = y.exp()
        s = e.sum(0)
        s.backward()
        assert s.grad_fn._saved_dim == (0,) and s.grad_fn._saved_self_sym_sizes == (5,)  # values stay readable
        for node, name in ((y.grad_fn, "_saved_self"), (e.grad_fn, "_saved_result")):
            with pytest.raises(RuntimeError) as err:
                getattr(node, name)
            msgs.append(str(err.value))
    assert msgs[:2] == msgs[2:]


def test_saved_input_modified_in_place_raises_version_error(device, rng):
    x = tg.tensor(rng.standard_normal(4), device=device, requires_grad=True)
    w = tg.tensor(rng.standard_normal(4), device=device)
    y = x * w
    w.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        _ = y.grad_fn._saved_other


def test_custom_function_ctx_keeps_saved_tensors(device):
    class Square(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 2 * a * g

    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = Square.apply(x)
    assert y.grad_fn.saved_tensors[0] is x and not hasattr(y.grad_fn, "_saved_self")


# --- saved-tensor pack hooks: called when the op runs, in PyTorch's order, unpack on access -------------
PACK_CASES = {
    "mul": lambda m, x, w, A, M: x * w,
    "div": lambda m, x, w, A, M: x / w,
    "pow_tensor": lambda m, x, w, A, M: x.abs() ** w,
    "exp": lambda m, x, w, A, M: x.exp(),
    "mm": lambda m, x, w, A, M: A.mm(M),
    "max": lambda m, x, w, A, M: x.max(),
    "clamp_tensor": lambda m, x, w, A, M: m.clamp(x, w, w + 1),
    "mse": lambda m, x, w, A, M: m.nn.functional.mse_loss(x, w),
    "maximum": lambda m, x, w, A, M: m.maximum(x, w),
    "softmax": lambda m, x, w, A, M: m.nn.functional.softmax(x, 0),
    "mul_scalar": lambda m, x, w, A, M: x * 2,
}


def _pack_log(m, fn, leaves, backward):
    """What the pack and unpack hooks saw, in order: leaves by name, others by their grad_fn's name."""
    log = []

    def label(t):
        for name, leaf in leaves.items():
            if t is leaf:
                return name
        return t.grad_fn.name() if t.grad_fn is not None else "other"

    def pack(t):
        log.append(("pack", label(t)))
        return t

    def unpack(t):
        log.append(("unpack", tuple(t.shape)))
        return t

    with m.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = fn(m, *leaves.values())
        log.append("op done")
    if backward:
        y.sum().backward()
    return log


@pytest.mark.parametrize("case", sorted(PACK_CASES))
def test_pack_hooks_order_matches_pytorch(torch, device, rng, case):
    ours, theirs = _pair(torch, device, rng, [(3,), (3,), (2, 3), (3, 4)], (True,) * 4)
    names = ("x", "w", "A", "M")
    for backward in (False, True):
        got = _pack_log(tg, PACK_CASES[case], dict(zip(names, ours)), backward)
        want = _pack_log(torch, PACK_CASES[case], dict(zip(names, theirs)), backward)
        assert got == want


def test_pack_hooks_custom_function_and_saved_attribute_unpacks(torch, device):
    assert _custom_log(tg, device) == _custom_log(torch, "cpu")


def _custom_log(m, device):
    log = []
    x = m.ones(2, device=device, requires_grad=True)
    w = m.ones(2, device=device, requires_grad=True)

    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(b, a)
            log.append("saved")
            return a * b

        @staticmethod
        def backward(ctx, g):
            b, a = ctx.saved_tensors
            return g * b, g * a

    with m.autograd.graph.saved_tensors_hooks(lambda t: log.append("w" if t is w else "x") or t,
                                              lambda t: log.append("unpack") or t):
        y = F.apply(x, w)
        z = x * w
    log.append("access")
    assert z.grad_fn._saved_self is not x  # unpack hook's result (a new tensor object), as in PyTorch
    y.sum().backward()
    return log


# --- names, Variable, views ------------------------------------------------------------------------------
def test_node_names(torch, device):
    x, tx = tg.ones(2, device=device, requires_grad=True), torch.ones(2, requires_grad=True)
    acc, tacc = (x * 2).grad_fn.next_functions[0][0], (tx * 2).grad_fn.next_functions[0][0]
    assert acc.name() == tacc.name() == "torch::autograd::AccumulateGrad"
    assert type(acc).__name__ == type(tacc).__name__ == "AccumulateGrad"
    assert (x * 2).grad_fn.name() == "MulBackward0"


def test_variable(torch, device):
    Variable, TVariable = tg.autograd.Variable, torch.autograd.Variable
    t, tt = tg.ones(2, device=device), torch.ones(2)
    v, tv = Variable(t, requires_grad=True), TVariable(tt, requires_grad=True)
    assert type(v) is tg.Tensor and v.requires_grad and v.is_leaf and v is not t
    assert isinstance(t, Variable) and isinstance(tt, TVariable)
    t.add_(1)
    assert v._version == tv._version + 1 == 1 and v.detach().cpu().tolist() == [2.0, 2.0]
    y = t * 1
    assert Variable(y).grad_fn is None and not Variable(y).requires_grad
    assert Variable().shape == TVariable().shape == (0,)
    for args, kwargs in (([[1.0]], {}), ([tg.ones(2, dtype=tg.int64)], {"requires_grad": True}),
                         ([tg.ones(2)], {"foo": 1})):
        targs = [torch.ones(2, dtype=torch.int64) if isinstance(a, tg.Tensor) and a.dtype == tg.int64
                 else torch.ones(2) if isinstance(a, tg.Tensor) else a for a in args]
        with pytest.raises(Exception) as ours:
            Variable(*args, **kwargs)
        with pytest.raises(Exception) as theirs:
            TVariable(*targs, **kwargs)
        assert type(ours.value) is type(theirs.value)
        if kwargs.get("foo") is None:
            assert str(ours.value) == str(theirs.value)
    with pytest.warns(UserWarning, match="volatile was removed"):
        Variable(t, volatile=True)


def test_is_view_and_base(torch, device):
    a, ta = tg.ones(2, 3, device=device), torch.ones(2, 3)
    for f in (lambda t: t, lambda t: t[0], lambda t: t.view(6), lambda t: t[0][1:], lambda t: t.t(),
              lambda t: t.clone(), lambda t: t.detach(), lambda t: t.reshape(3, 2), lambda t: t.t().reshape(6),
              lambda t: t.contiguous(), lambda t: t.expand(2, 2, 3), lambda t: t.unsqueeze(0),
              lambda t: t.permute(1, 0)):
        v, tv = f(a), f(ta)
        assert v._is_view() == tv._is_view()
        assert (v._base is a) == (tv._base is ta) and (v._base is None) == (tv._base is None)


# --- grad-mode decorators and inference_mode ---------------------------------------------------------------
def test_bare_decorators(device):
    x = tg.ones(2, device=device, requires_grad=True)

    @tg.no_grad
    def f(t):
        return t * 2

    @tg.enable_grad
    def g(t):
        return t * 2

    @tg.inference_mode
    def h(t):
        return t * 2, tg.is_inference_mode_enabled()

    @tg.inference_mode(False)
    def k(t):
        return t * 2

    assert not f(x).requires_grad and f.__name__ == "f"
    with tg.no_grad():
        assert g(x).requires_grad
    out, enabled = h(x)
    assert enabled and out.is_inference() and not out.requires_grad
    assert k(x).requires_grad and not tg.is_inference_mode_enabled()
    assert isinstance(tg.no_grad(), tg.no_grad) and isinstance(tg.inference_mode(), tg.inference_mode)


def _inference_errors(m, device):
    """The outcome (value, or error type and text) of the common uses of an inference tensor."""
    x = m.ones(3, device=device, requires_grad=True)
    with m.inference_mode():
        state = (m.is_inference_mode_enabled(), m.is_grad_enabled())
        a = x * 2
        b = m.ones(3, device=device)
        made = (a.requires_grad, a.is_inference(), a.grad_fn is None, b.is_inference(), a.clone().is_inference())
        b.add_(1)  # in-place on an inference tensor inside the mode is allowed
    out = [state, made, m.is_inference_mode_enabled(), x.is_inference(), a.detach().is_inference(),
           a.view(3).is_inference(), a.clone().is_inference()]
    # NOTE: values first: PyTorch's add_ below writes into `a` before it raises (tritongrad raises first)
    for f in (lambda: (x + a).sum().item(), lambda: (a * 3).sum().item(), lambda: a * x, lambda: x * a,
              lambda: (x * a).sum().backward(), lambda: a.add_(1), lambda: a.requires_grad_(), lambda: a._version,
              lambda: x.exp() * a, lambda: m.mm(x.view(1, 3), a.view(3, 1))):
        try:
            r = f()
            out.append(r if isinstance(r, float) else "ok")
        except RuntimeError as e:
            out.append(str(e).replace("torch.", "tritongrad."))
    with m.inference_mode():
        with m.inference_mode(False):
            out.append((m.is_inference_mode_enabled(), m.is_grad_enabled(), m.ones(1).is_inference()))
        with m.enable_grad():  # reported on, yet nothing records inside inference_mode
            out.append((m.is_grad_enabled(), (x * 2).requires_grad, (x * 2).is_inference()))
            with m.no_grad():
                out.append(m.is_grad_enabled())
            out.append(m.is_grad_enabled())
        out.append(m.is_grad_enabled())
    out.append(m.is_grad_enabled())
    with m.no_grad():
        with m.inference_mode(False):
            out.append(m.is_grad_enabled())
        out.append(m.is_grad_enabled())
    return out


def test_inference_mode_matches_pytorch(torch, device):
    assert _inference_errors(tg, device) == _inference_errors(torch, "cpu")


def test_inference_mode_custom_function_save_raises(device):
    class Id(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(b)
            return a * 1

        @staticmethod
        def backward(ctx, g):
            return g, None

    x = tg.ones(2, device=device, requires_grad=True)
    with tg.inference_mode():
        a = tg.ones(2, device=device)
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        Id.apply(x, a)
