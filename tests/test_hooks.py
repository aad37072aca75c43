"""Backward hooks: tensor hooks, post-accumulate-grad hooks, node pre-/post-hooks, their firing order
(checked against PyTorch on the same program), removal, and saved-tensor hooks (save_on_cpu)."""
import threading

import numpy as np
import pytest
from helpers import randn

import tritongrad as tg


def _np(t):
    return t.detach().cpu().numpy()


# --- Tensor.register_hook ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1,), (97,), (33, 65), (3, 1, 17)])
def test_leaf_hook_replaces_the_accumulated_gradient(device, rng, shape):
    x = randn(rng, shape, device)
    seen = []
    handle = x.register_hook(lambda g: seen.append(_np(g)) or g * 2)
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0], np.full(shape, 3.0))
    np.testing.assert_allclose(_np(x.grad), np.full(shape, 6.0))
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(_np(x.grad), np.full(shape, 3.0))
    assert len(seen) == 1


def test_non_leaf_hook_changes_what_flows_on(device, rng):
    x = randn(rng, (3, 1, 17), device)
    y = x * 2
    y.register_hook(lambda g: g + 1)
    (y * y).sum().backward()
    expected = (2 * 2 * _np(x) + 1) * 2  # d/dy (y*y) = 2y, plus 1 from the hook, times dy/dx = 2
    np.testing.assert_allclose(_np(x.grad), expected, rtol=1e-12)


def test_hooks_chain_in_registration_order():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(("a", g.tolist())) or g * 10)
    x.register_hook(lambda g: calls.append(("b", g.tolist())))  # returns None: keeps the gradient
    x.register_hook(lambda g: calls.append(("c", g.tolist())) or g + 1)
    (x * 1).sum().backward()
    assert calls == [("a", [1.0, 1.0]), ("b", [10.0, 10.0]), ("c", [10.0, 10.0])]
    assert x.grad.tolist() == [11.0, 11.0]


def test_register_hook_errors(torch):
    for lib in (tg, torch):
        with pytest.raises(RuntimeError, match="^cannot register a hook on a tensor that doesn't require gradient$"):
            lib.tensor([1.0]).register_hook(lambda g: g)
        with pytest.raises(RuntimeError, match="^post accumulate grad hooks cannot be registered on non-leaf "
                                               "tensors$"):
            (lib.tensor([1.0], requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_handle_is_a_context_manager():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with x.register_hook(lambda g: g * 100):
        (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert x.grad.tolist() == [101.0, 101.0]


def test_tensor_hook_fires_when_grad_skips_the_node():
    """autograd.grad(out, y) reads y's gradient without running y's node: y's tensor hooks still run
    (and change what grad returns), its node's pre-hooks do not."""
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    calls = []
    y.register_hook(lambda g: calls.append("tensor") or g * 10)
    y.grad_fn.register_prehook(lambda go: calls.append("pre"))
    y.grad_fn.register_hook(lambda gi, go: calls.append("post"))
    (gy,) = tg.autograd.grad((y * y).sum(), y)
    assert calls == ["tensor"]
    assert gy.tolist() == [60.0, 120.0]


def test_hooks_registered_before_an_inplace_op_stay_with_the_old_node(torch):
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        seen = []
        y.register_hook(lambda g: seen.append(g.tolist()))
        y.mul_(3)
        (y * y).sum().backward()
        return seen, x.grad.tolist()

    assert program(tg) == program(torch)


# --- post-accumulate-grad hooks --------------------------------------------------------------------
def test_post_accumulate_grad_hook_sgd_step(device):
    v = tg.tensor([0.5, -1.0, 2.0], device=device, requires_grad=True)
    modes = []

    def step(p):
        modes.append(tg.is_grad_enabled())
        p.sub_(p.grad, alpha=0.1)  # in place on a leaf: allowed because the hook runs under no_grad

    handle = v.register_post_accumulate_grad_hook(step)
    v.backward(tg.tensor([1.0, 2.0, 3.0], device=device))
    np.testing.assert_allclose(_np(v), [0.4, -1.2, 1.7])
    assert modes == [False] and v.requires_grad and v.grad_fn is None
    handle.remove()
    v.backward(tg.tensor([1.0, 2.0, 3.0], device=device))
    np.testing.assert_allclose(_np(v), [0.4, -1.2, 1.7])


def test_post_accumulate_grad_hook_sees_the_summed_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (x * 2 + x * 3).sum().backward()
    assert seen == [[5.0, 5.0]]  # once, after both paths have been summed


def test_post_accumulate_grad_hook_must_return_none():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.register_post_accumulate_grad_hook(lambda p: p.grad)
    with pytest.raises(RuntimeError, match=r"^Tensor post accumulate grad hooks should return None\.$"):
        (x * 2).sum().backward()


@pytest.mark.parametrize("lib_name", ["tritongrad", "torch"])
def test_post_accumulate_grad_hook_writing_grad_leaves_other_gradients_alone(lib_name):
    """c's gradient also flows on to a (AddBackward gives one gradient to both): a hook that scales
    c.grad in place must not scale a's (PyTorch copies a gradient that something else still holds)."""
    lib = tg if lib_name == "tritongrad" else pytest.importorskip("torch")
    a, c = lib.tensor([1.0, 2.0], requires_grad=True), lib.tensor([0.5, -1.0], requires_grad=True)

    def scale(p):
        p.grad.mul_(100)

    c.register_post_accumulate_grad_hook(scale)
    (((a * 2) + c) * 3).sum().backward()
    assert a.grad.tolist() == [6.0, 6.0] and c.grad.tolist() == [300.0, 300.0]


def test_post_accumulate_grad_hook_not_run_by_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda p: seen.append(1))
    tg.autograd.grad((x * 2).sum(), x)
    assert seen == [] and x.grad is None


# --- Node hooks -------------------------------------------------------------------------------------
def test_node_prehook_and_hook_replace_gradients(device, rng):
    a = randn(rng, (33, 65) if device == "cpu" else (4, 5), device)
    b = a * 3
    hpre = b.grad_fn.register_prehook(lambda go: (go[0] * 2,))
    hpost = b.grad_fn.register_hook(lambda gi, go: (gi[0] + 1, None))
    b.sum().backward()
    np.testing.assert_allclose(_np(a.grad), np.full(a.shape, 7.0))  # (1 * 2) * 3 + 1
    hpre.remove()
    hpost.remove()
    a.grad = None
    b = a * 3
    b.sum().backward()
    np.testing.assert_allclose(_np(a.grad), np.full(a.shape, 3.0))


def test_node_hooks_see_inputs_and_outputs(torch):
    def program(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        c = lib.tensor([3.0, 4.0])
        b = a * c
        seen = []
        b.grad_fn.register_hook(lambda gi, go: seen.append(
            ([None if g is None else g.tolist() for g in gi], [g.tolist() for g in go])))
        b.sum().backward()
        return seen

    assert program(tg) == program(torch) == [([[3.0, 4.0], None], [[1.0, 1.0]])]


def test_accumulate_grad_node_hooks(torch):
    def program(lib):
        log = []
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        acc = y.grad_fn.next_functions[0][0]
        x.register_hook(lambda g: log.append(("tensor", g.tolist())) or g + 1)
        acc.register_prehook(lambda go: log.append(("pre", go[0].tolist())) or (go[0] * 10,))
        acc.register_hook(lambda gi, go: log.append(("post", gi, go[0].tolist())))
        x.register_post_accumulate_grad_hook(lambda t: log.append(("post_acc", t.grad.tolist())))
        y.sum().backward()
        return log, x.grad.tolist()

    log, grad = program(tg)
    assert (log, grad) == program(torch)
    assert [name for name, *_ in log] == ["tensor", "pre", "post_acc", "post"] and grad == [30.0, 30.0]


# --- firing order -----------------------------------------------------------------------------------
def _order_program(lib):
    """Every kind of hook on one small graph; returns the calls in order, with what each saw."""
    log = []
    x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
    y = x * 2
    z = y.exp()
    y.retain_grad()
    y.register_hook(lambda g: log.append(("tensor1", g.tolist())) or g * 10)
    y.register_hook(lambda g: log.append(("tensor2", g.tolist(), y.grad)))
    y.grad_fn.register_prehook(lambda go: log.append(("pre", go[0].tolist(), y.grad.tolist())) or (go[0] + 1,))
    y.grad_fn.register_hook(lambda gi, go: log.append(("post", gi[0].tolist(), go[0].tolist())))
    x.register_hook(lambda g: log.append(("leaf", g.tolist())))
    x.register_post_accumulate_grad_hook(lambda t: log.append(("post_acc", t.grad.tolist(), lib.is_grad_enabled())))
    z.sum().backward()
    log.append(("y.grad", y.grad.tolist()))
    return log


def test_firing_order_matches_pytorch(torch):
    """Tensor hooks, then the retained grad (before the node's pre-hooks, as PyTorch's engine does it:
    the pre-hook already sees y.grad, and its +1 does not reach y.grad), the node, its post-hooks."""
    ours, theirs = _order_program(tg), _order_program(torch)
    assert [e[0] for e in ours] == ["tensor1", "tensor2", "pre", "post", "leaf", "post_acc", "y.grad"]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a[0] == b[0]
        for u, v in zip(a[1:], b[1:]):
            if isinstance(u, list):
                np.testing.assert_allclose(u, v, rtol=1e-12)
            else:
                assert u == v
    pre = dict((e[0], e) for e in ours)["pre"]
    assert pre[2] == dict((e[0], e) for e in ours)["y.grad"][1]  # retained before the pre-hook ran


def test_backward_inputs_non_leaf_fills_grad_once(torch):
    def program(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 3
        calls = []
        b.register_hook(lambda g: calls.append("hook") or g * 10)
        (b * b).sum().backward(inputs=[b], retain_graph=True)
        first = b.grad.tolist()
        (b * b).sum().backward(inputs=[b, a])
        return calls, first, b.grad.tolist(), a.grad.tolist(), b.retains_grad

    assert program(tg) == program(torch)


def test_grad_capture_of_an_executed_node_matches_pytorch(torch):
    """grad(out, [b, a]): b's node must run for a's sake; PyTorch then returns b's gradient as it arrived,
    before b's tensor hooks (while the hook still changes a's gradient)."""
    def program(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 3
        b.register_hook(lambda g: g * 10)
        return [g.tolist() for g in lib.autograd.grad((b * b).sum(), [b, a])]

    assert program(tg) == program(torch)


# --- saved-tensor hooks -----------------------------------------------------------------------------
def test_saved_tensors_hooks_pack_once_unpack_each_time(device, rng):
    x = randn(rng, (97,), device)
    packed, unpacked, modes = [], [], []

    def pack(t):
        packed.append(tuple(t.shape))
        modes.append(tg.is_grad_enabled())
        return t

    def unpack(t):
        unpacked.append(tuple(t.shape))
        return t

    with tg.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = x * x        # saves x twice
        z = y.exp()      # saves its output
    assert packed == [(97,)] * 3 and unpacked == [] and modes == [False] * 3
    z.sum().backward(retain_graph=True)
    assert len(unpacked) == 3
    z.sum().backward()
    assert len(unpacked) == 6
    np.testing.assert_allclose(_np(x.grad), 2 * 2 * _np(x) * np.exp(_np(x) ** 2), rtol=1e-12)


def test_saved_tensors_hooks_copy_and_double_backward(rng):
    """Unpacked copies keep the saved tensors' place in the graph: second derivatives still flow."""
    a = rng.standard_normal(7)
    grads = []
    for hooked in (False, True):
        x = tg.tensor(a, requires_grad=True)
        ctx = tg.autograd.graph.saved_tensors_hooks(lambda t: t.detach() * 1, lambda p: p * 1)
        if hooked:
            with ctx:
                y = ((x * x).exp() * x).sin().sum()
        else:
            y = ((x * x).exp() * x).sin().sum()
        (g,) = tg.autograd.grad(y, x, create_graph=True)
        (g2,) = tg.autograd.grad(g.sum(), x)
        grads.append((_np(g), _np(g2)))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-12)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-12)


def test_saved_tensors_hooks_innermost_wins_and_thread_local():
    outer, inner, other_thread = [], [], []
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.autograd.graph.saved_tensors_hooks(lambda t: outer.append(1) or t, lambda t: t):
        with tg.autograd.graph.saved_tensors_hooks(lambda t: inner.append(1) or t, lambda t: t):
            x * x
            worker = threading.Thread(target=lambda: other_thread.append((x * x).grad_fn is not None))
            worker.start()
            worker.join()
        x.exp()
    assert inner == [1, 1] and outer == [1] and other_thread == [True]


def test_saved_tensors_hooks_errors(torch):
    for lib in (tg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: 1, lambda p: p):
            y = x * x
        with pytest.raises(TypeError, match="^Output of saved tensor unpack_hook expected to be a Tensor but got "
                                            "result of type int$"):
            y.sum().backward()
        with pytest.raises(RuntimeError, match="^A saved tensor pack hook is modifying its input in place."):
            with lib.autograd.graph.saved_tensors_hooks(lambda t: t.mul_(2), lambda p: p):
                (x * 1) * x


def test_save_on_cpu(device, rng):
    x = randn(rng, (5, 4), device)
    w = randn(rng, (4, 3), device)
    save = tg.autograd.graph.save_on_cpu()
    places = []

    def pack(t):
        packed = save.pack_hook(t)
        places.append(packed[1].device.type)
        return packed

    with tg.autograd.graph.saved_tensors_hooks(pack, save.unpack_hook):
        loss = ((x @ w).sigmoid() * x.sum(1, keepdim=True)).sum()
    assert places and set(places) == {"cpu"}
    loss.backward()
    assert x.grad.device.type == device
    grads = (_np(x.grad), _np(w.grad))
    x.grad = w.grad = None
    ((x @ w).sigmoid() * x.sum(1, keepdim=True)).sum().backward()
    np.testing.assert_allclose(grads[0], _np(x.grad), rtol=1e-12)
    np.testing.assert_allclose(grads[1], _np(w.grad), rtol=1e-12)


def test_save_on_cpu_cpu_tensors(torch):
    """As PyTorch: a CPU tensor is saved as it is (a later in-place change is seen by backward, unchecked),
    and copied with pin_memory=True."""
    def program(lib, pin):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        c = lib.tensor([4.0, 5.0, 6.0])
        with lib.autograd.graph.save_on_cpu(pin_memory=pin):
            y = x * c
        with lib.no_grad():
            c.add_(1)
        y.sum().backward()
        return x.grad.tolist()

    assert program(tg, False) == program(torch, False) == [5.0, 6.0, 7.0]
    assert program(tg, True) == program(torch, True) == [4.0, 5.0, 6.0]


# --- what hooks may return ----------------------------------------------------------------------------
def _hook_error(lib, case):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2

    def shrink(g):
        return g[:1]

    if case == "size":
        y.register_hook(shrink)
    elif case == "type":
        y.register_hook(lambda g: g.double())
    elif case == "not_tensor":
        y.register_hook(lambda g: 3)
    elif case == "pre_not_tuple":
        y.grad_fn.register_prehook(lambda go: [go[0]])
    elif case == "pre_size":
        y.grad_fn.register_prehook(lambda go: (go[0][:1],))
    elif case == "post_count":
        y.grad_fn.register_hook(lambda gi, go: (gi[0][:1],))
    elif case == "post_none":
        y.grad_fn.register_hook(lambda gi, go: (gi[0], gi[0]))  # the constant 2 has no gradient
    with pytest.raises((RuntimeError, TypeError)) as e:
        (y * 1).sum().backward()
    return type(e.value).__name__, str(e.value).replace("torch.", "tritongrad.")


@pytest.mark.parametrize("case", ["size", "type", "not_tensor", "pre_not_tuple", "pre_size", "post_count",
                                  "post_none"])
def test_hook_results_are_checked_as_in_pytorch(torch, case):
    assert _hook_error(tg, case) == _hook_error(torch, case)


def test_post_accumulate_grad_hook_under_create_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    modes = []
    x.register_post_accumulate_grad_hook(lambda p: modes.append(tg.is_grad_enabled()))
    (x * x).sum().backward(create_graph=True)
    assert modes == [True]  # as in PyTorch: no_grad only when the backward itself is not recorded
