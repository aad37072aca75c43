"""The engine's errors, type and text, against PyTorch's (2.13): bad arguments to backward() and grad(),
bad gradients, hooks that return the wrong thing. Each case runs on tritongrad (both devices) and on
PyTorch (CPU); messages are compared with 'torch.' read as 'tritongrad.'.
"""
import pytest

import tritongrad as tg


def _leaf(L, dev, n=2):
    return L.tensor([0.5, -1.5, 2.0][:n], device=dev, requires_grad=True)


def _hooked(L, dev, hook):
    x = _leaf(L, dev)
    x.register_hook(hook)
    return x


CASES = {
    # backward(): outputs and their gradients
    "no_grad_fn": lambda L, d: L.tensor([1.0, 2.0], device=d).sum().backward(),
    "second_output_no_grad_fn": lambda L, d: L.autograd.backward([_leaf(L, d).sum(), L.ones(2, device=d).sum()]),
    "not_scalar": lambda L, d: _leaf(L, d).exp().backward(),
    "list_of_floats": lambda L, d: _leaf(L, d).exp().backward([1.0, 2.0]),
    "a_float": lambda L, d: _leaf(L, d).exp().sum().backward(1.0),
    "a_bool": lambda L, d: _leaf(L, d).sum().backward(True),
    "a_list_in_the_list": lambda L, d: L.autograd.backward([_leaf(L, d).exp()], [[1.0, 2.0]]),
    "fewer_gradients": lambda L, d: L.autograd.backward([_leaf(L, d).sum(), _leaf(L, d).sum()],
                                                        [L.tensor(1.0, device=d)]),
    "shape_mismatch": lambda L, d: _leaf(L, d).exp().backward(L.ones(3, device=d)),
    "output_not_a_tensor": lambda L, d: L.autograd.backward([3]),
    "outputs_none": lambda L, d: L.autograd.backward(None),
    "integer_output": lambda L, d: L.autograd.backward([L.ones(2, dtype=L.int64, device=d)],
                                                       [L.ones(2, dtype=L.int64, device=d)]),
    # backward(inputs=)
    "inputs_empty": lambda L, d: _leaf(L, d).sum().backward(inputs=[]),
    "inputs_int": lambda L, d: _leaf(L, d).sum().backward(inputs=[3]),
    "inputs_none_element": lambda L, d: _leaf(L, d).sum().backward(inputs=[None]),
    "inputs_no_grad": lambda L, d: _leaf(L, d).sum().backward(inputs=[L.ones(2, device=d)]),
    # grad()
    "grad_outputs_no_grad_fn": lambda L, d: L.autograd.grad([_leaf(L, d).sum(), L.ones(2, device=d).sum()],
                                                            _leaf(L, d)),
    "grad_inputs_empty": lambda L, d: L.autograd.grad(_leaf(L, d).sum(), []),
    "grad_list_of_floats": lambda L, d: (lambda x: L.autograd.grad(x.exp(), x, [1.0, 2.0]))(_leaf(L, d)),
    "grad_unused": lambda L, d: L.autograd.grad(_leaf(L, d).sum(), [_leaf(L, d), _leaf(L, d)]),
    "grad_input_no_grad": lambda L, d: L.autograd.grad(_leaf(L, d).sum(), [L.ones(2, device=d)]),
    "grad_input_none": lambda L, d: (lambda x: L.autograd.grad(x.sum(), [x, None]))(_leaf(L, d)),
    "grad_output_int": lambda L, d: L.autograd.grad([3], [_leaf(L, d)]),
    "grad_not_scalar": lambda L, d: (lambda x: L.autograd.grad(x.exp(), x))(_leaf(L, d)),
    "grad_shape": lambda L, d: (lambda x: L.autograd.grad(x.exp(), x, L.ones(3, device=d)))(_leaf(L, d)),
    "grad_fewer_gradients": lambda L, d: (lambda x: L.autograd.grad([x.sum(), x.sum()], x, [L.tensor(1.0, device=d)]))(
        _leaf(L, d)),
    "materialize_without_allow_unused": lambda L, d: (lambda x: L.autograd.grad(
        x.sum(), x, allow_unused=False, materialize_grads=True))(_leaf(L, d)),
    "inputs_mapping": lambda L, d: (lambda x: L.autograd.grad(x.sum(), _Mapping(x)))(_leaf(L, d)),
    # what hooks return
    "hook_returns_float": lambda L, d: _hooked(L, d, lambda g: 1.0).sum().backward(),
    "hook_changes_shape": lambda L, d: _hooked(L, d, lambda g: L.ones(3, device=d)).sum().backward(),
    "hook_changes_dtype": lambda L, d: _hooked(L, d, lambda g: g.double()).sum().backward(),
    "prehook_returns_int": lambda L, d: _node_hook(L, d, "register_prehook", lambda go: 1),
    "prehook_returns_two": lambda L, d: _node_hook(L, d, "register_prehook", lambda go: (go[0], go[0])),
    "posthook_returns_two": lambda L, d: _node_hook(L, d, "register_hook", lambda gi, go: (gi[0], gi[0])),
    "post_accumulate_returns_int": lambda L, d: _post_acc(L, d, lambda p: 1),
    "post_accumulate_returns_tensor": lambda L, d: _post_acc(L, d, lambda p: p.grad),
    # backward twice
    "backward_twice": lambda L, d: (lambda y: (y.backward(), y.backward()))(_leaf(L, d).exp().sum()),
}


class _Mapping:
    """A Mapping that is not a dict: PyTorch refuses it as `inputs`."""

    def __init__(self, x):
        self.x = x


def _node_hook(L, d, kind, hook):
    y = _leaf(L, d).exp()
    getattr(y.grad_fn, kind)(hook)
    y.sum().backward()


def _post_acc(L, d, hook):
    x = _leaf(L, d)
    x.register_post_accumulate_grad_hook(hook)
    (x * 2).sum().backward()


@pytest.mark.parametrize("case", list(CASES))
def test_engine_error_matches_pytorch(case, device, torch):
    from collections.abc import Mapping

    Mapping.register(_Mapping)
    with pytest.raises(Exception) as want:
        CASES[case](torch, "cpu")
    with pytest.raises(Exception) as got:
        CASES[case](tg, device)
    assert type(got.value) is type(want.value), (got.value, want.value)
    # NOTE: PyTorch runs on the CPU: a CUDA tensor's type() names tritongrad.cuda.FloatTensor
    text = str(got.value).replace("tritongrad.cuda.", "tritongrad.")
    assert text == str(want.value).replace("torch.", "tritongrad.").split(" (Triggered internally")[0]


def test_extra_gradients_are_ignored_as_in_pytorch(device, torch):
    """PyTorch pairs outputs and gradients as zip does: an extra gradient is never read."""
    for L, d in ((torch, "cpu"), (tg, device)):
        x = _leaf(L, d)
        L.autograd.backward([x.sum()], [L.tensor(2.0, device=d), L.tensor(5.0, device=d)])
        assert x.grad.tolist() == [2.0, 2.0]


def test_grad_of_a_dict_of_inputs_is_a_dict(device, torch):
    for L, d in ((torch, "cpu"), (tg, device)):
        x, y = _leaf(L, d), _leaf(L, d)
        got = L.autograd.grad((x * y).sum(), {"x": x, "y": y})
        assert list(got) == ["x", "y"] and got["x"].tolist() == y.tolist()


def test_materialize_grads_gives_zeros_that_follow_create_graph(device, torch):
    for L, d in ((torch, "cpu"), (tg, device)):
        x, unused = _leaf(L, d), _leaf(L, d)
        for create_graph in (False, True):
            _, z = L.autograd.grad((x * x).sum(), [x, unused], create_graph=create_graph, materialize_grads=True)
            assert z.tolist() == [0.0, 0.0] and z.requires_grad == create_graph
