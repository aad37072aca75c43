"""The engine's plain path (graphs without hooks): the same node order, gradients and errors as the
general path, which it leaves to graphs with hooks, retained grads or out-of-order sequence numbers.
"""
import numpy as np
import pytest

import tritongrad as tg
from tritongrad.autograd import engine


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


def _general_order(out):
    """The node names in the order the general engine runs them (a post-hook on every node forces it)."""
    names, seen, stack = [], set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen or type(node).__name__ == "AccumulateGrad":
            continue
        seen.add(node)
        node.register_hook(lambda gi, go, node=node: names.append(node.name()))
        stack.extend(n for n, _ in node.next_functions)
    out.backward()
    return names


def test_plain_order_is_the_general_engines_order():
    rng = np.random.default_rng(7)
    x, y = _inputs(rng)
    out = _program(x, y)
    order = engine._plain_order([(out.grad_fn, 0)])
    assert order is not None
    plain = [n.name() for n in order if type(n).__name__ != "AccumulateGrad"]
    assert plain == _general_order(_program(x, y))
    assert [type(n).__name__ for n in order[len(plain):]] == ["AccumulateGrad"] * 2  # the leaves, last


def test_plain_and_general_paths_agree_bit_for_bit():
    rng = np.random.default_rng(8)
    x, y = _inputs(rng)
    _program(x, y).backward()  # plain
    plain = x.grad.numpy().copy(), y.grad.numpy().copy()
    x.grad = y.grad = None
    out = _program(x, y)
    out.grad_fn.register_prehook(lambda g: None)  # a hook: the general engine
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), plain[0])
    np.testing.assert_array_equal(y.grad.numpy(), plain[1])


def test_out_of_order_sequence_numbers_take_the_general_path():
    """Should a node ever be numbered before one of its inputs' nodes, the plain order would be wrong:
    the plain path declines the graph and the general engine (dependency counts) runs it."""
    rng = np.random.default_rng(9)
    x, y = _inputs(rng)
    _program(x, y).backward()
    want = x.grad.numpy().copy(), y.grad.numpy().copy()
    x.grad = y.grad = None
    out = _program(x, y)
    node = out.grad_fn.next_functions[0][0]
    inner = node.next_functions[0][0]
    node._seq, inner._seq = inner._seq, node._seq
    assert engine._plain_order([(out.grad_fn, 0)]) is None
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), want[0])
    np.testing.assert_array_equal(y.grad.numpy(), want[1])


def test_plain_path_frees_saved_tensors_and_keeps_them_with_retain_graph():
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
