"""The backward engine's one schedule: nodes run newest first off a heap, in one pass; backward(inputs=),
grad() and anomaly mode filter it. Nodes run either a derivative formula on arrays (the fast path) or
`apply` on Tensors (hooks, create_graph, grad()): same order, same bits, same errors.
"""
import numpy as np
import pytest

import tritongrad as tg


def _program(x, y):
    """A graph with fan-out, reuse of one leaf, views, scalars, a reduction and two outputs of a leaf's view."""
    a = x * y + x[0]
    b = (a.exp() - 2 * y).clamp(min=-1.0) / (1 + y * y)
    c = a.sum(0, keepdim=True) * b + x[1] ** 3
    return (c.tanh() * a).mean() + b.pow(2).sum()


def _inputs(rng):
    x = tg.tensor(rng.standard_normal((3, 4)), dtype=tg.float64, requires_grad=True)
    y = tg.tensor(rng.standard_normal((3, 4)), dtype=tg.float64, requires_grad=True)
    return x, y


def _order(out, **backward_kwargs):
    """The node names in the order backward runs them, recorded by a post-hook on every node."""
    names, seen, stack, handles = [], set(), [out.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        handles.append(node.register_hook(lambda gi, go, node=node: names.append(node.name().split("::")[-1])))
        stack.extend(n for n, _ in node.next_functions)
    out.backward(**backward_kwargs)
    for h in handles:  # NOTE: the leaves' AccumulateGrad nodes outlive this graph
        h.remove()
    return names


def test_inputs_filter_keeps_the_order():
    """backward(inputs=) runs the nodes that lead to an input, in the order backward() runs them."""
    rng = np.random.default_rng(7)
    x, y = _inputs(rng)
    one_pass = _order(_program(x, y))
    assert one_pass == _order(_program(x, y), inputs=[x, y])
    assert one_pass.count("AccumulateGrad") == 2 and len(one_pass) > 20


def test_op_nodes_run_in_pytorchs_order(torch):
    """PyTorch runs a leaf's AccumulateGrad as soon as it is ready; we run it in its number's turn.
    Only hooks that read another leaf's .grad can tell; the op nodes' order is PyTorch's."""
    rng = np.random.default_rng(7)
    x, y = _inputs(rng)
    tx, ty = (torch.tensor(t.detach().numpy(), requires_grad=True) for t in (x, y))
    ours = [n for n in _order(_program(x, y)) if n != "AccumulateGrad"]
    assert ours == [n for n in _order(_program(tx, ty)) if n != "AccumulateGrad"]


@pytest.mark.parametrize("other", ["create_graph", "grad", "anomaly"])
def test_formulas_on_arrays_and_on_tensors_agree_bit_for_bit(other):
    """The fast path (formulas on arrays) and the Tensor path give the same bits."""
    rng = np.random.default_rng(8)
    x, y = _inputs(rng)
    _program(x, y).backward()  # derivative formulas on arrays
    want = x.grad.numpy().copy(), y.grad.numpy().copy()
    x.grad = y.grad = None
    if other == "create_graph":
        _program(x, y).backward(create_graph=True)
        got = x.grad, y.grad
    elif other == "grad":
        got = tg.autograd.grad(_program(x, y), [x, y])
    else:
        with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"), tg.autograd.detect_anomaly():
            _program(x, y).backward()
        got = x.grad, y.grad
    np.testing.assert_array_equal(got[0].detach().numpy(), want[0])
    np.testing.assert_array_equal(got[1].detach().numpy(), want[1])


def test_hooks_in_the_middle_of_the_graph_see_tensors_and_change_the_result():
    """A hooked node runs on Tensors among nodes that run on arrays."""
    x = tg.tensor([0.5, -1.5, 2.0], requires_grad=True)
    a = x * x
    b = a.exp()
    a.retain_grad()
    seen = []
    a.register_hook(lambda g: seen.append(type(g).__name__) or g * 2)
    b.sum().backward()
    assert seen == ["Tensor"]
    xs = x.detach().numpy()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.exp(xs * xs), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(xs * xs) * 2 * xs, rtol=1e-6)


def test_out_of_order_sequence_numbers_are_reported():
    """The heap schedule relies on a node being numbered after its inputs' nodes, which recording
    guarantees; a hand-edited number breaks it and is reported rather than giving wrong gradients."""
    rng = np.random.default_rng(9)
    x, y = _inputs(rng)
    out = _program(x, y)
    node = out.grad_fn.next_functions[0][0]
    inner = node.next_functions[0][0]
    node._seq, inner._seq = inner._seq, node._seq
    with pytest.raises(RuntimeError, match="sequence numbers must follow its edges"):
        out.backward()


def test_nodes_reached_only_by_none_are_freed():
    """A Function's backward may return None for an input: the nodes behind it still run (freeing
    their saved tensors, as PyTorch's do) and pass nothing on."""
    class Stop(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return None

    x = tg.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    Stop.apply(y).sum().backward()
    assert x.grad is None
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.sum().backward()


def test_saved_tensors_are_freed_and_keeps_them_with_retain_graph():
    x = tg.tensor([0.5, -1.5, 2.0], requires_grad=True)
    y = (x * x).exp().sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * x.detach().numpy() * np.exp(x.detach().numpy() ** 2),
                               rtol=1e-6)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_gradients_of_one_tensor_sum_in_pytorchs_order(torch):
    """x reaches the leaf along three paths: the sum of their gradients, in float32, is PyTorch's to the bit."""
    def program(lib):
        x = lib.tensor([-1.0, 1.0], requires_grad=True)
        for _ in range(50):
            f = (1 - x[0]) ** 2 + 5 * (x[1] - x[0] ** 2) ** 2
            f.backward()
            with lib.no_grad():
                x -= 0.01 * x.grad
            x.grad.zero_()
        return x.tolist()

    assert program(tg) == program(torch)
