"""Custom autograd Functions: forward/backward, ctx, mark_dirty, non-differentiable outputs, materialized
grads, once_differentiable, and the checks PyTorch makes on what backward returns."""
import warnings

import numpy as np
import pytest
from helpers import check_grad, randn

import tritongrad as tg
from tritongrad.autograd.function import once_differentiable


class Cube(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * grad  # Tensor ops: differentiable again


class ScaleShift(tg.autograd.Function):
    """x * k + b with a Python scalar k in the middle: it gets a None gradient."""

    @staticmethod
    def forward(ctx, x, k, b):
        ctx.k = k
        ctx.seen_needs = ctx.needs_input_grad
        return x * k + b

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.k, None, grad


def _one(cls_name, backward, forward=lambda ctx, x: x * 2):
    """A one-input Function class named `cls_name` with the given forward and backward."""
    return type(cls_name, (tg.autograd.Function,), {"forward": staticmethod(forward),
                                                     "backward": staticmethod(backward)})


@pytest.mark.parametrize("shape", [(1,), (97,), (33, 65), (3, 1, 17)])
def test_custom_function_gradient(device, rng, shape):
    x = randn(rng, shape, device)
    check_grad(Cube.apply, [x])
    out = Cube.apply(x)
    assert out.grad_fn.name() == "CubeBackward"
    assert type(out.grad_fn).__name__ == "CubeBackward"
    assert repr(out).endswith("grad_fn=<CubeBackward>)")


def test_non_tensor_argument_gets_none_and_edges(device, rng):
    x, b = randn(rng, (3, 1, 17), device), randn(rng, (17,), device, requires_grad=False)
    out = ScaleShift.apply(x, 2.5, b)
    assert out.grad_fn.seen_needs == (True, False, False)
    assert out.grad_fn.needs_input_grad == (True, False, False)
    nf = out.grad_fn.next_functions
    assert len(nf) == 2 and nf[0][0].name() == "torch::autograd::AccumulateGrad" and nf[1] == (None, 0)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), np.full(x.shape, 2.5))
    assert b.grad is None


def test_no_graph_without_grad(device, rng):
    x = randn(rng, (5,), device)
    with tg.no_grad():
        assert Cube.apply(x).grad_fn is None
    y = randn(rng, (5,), device, requires_grad=False)
    out = Cube.apply(y)
    assert not out.requires_grad and out.grad_fn is None


def test_create_graph_through_custom_function(device, rng):
    x = randn(rng, (33, 65) if device == "cpu" else (7,), device)
    (g,) = tg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    assert g.requires_grad
    (g2,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g2.cpu().numpy(), 6 * x.detach().cpu().numpy(), rtol=1e-12)


def test_saved_tensors_version_check(torch, rng):
    x, b = randn(rng, (3,)), randn(rng, (3,), requires_grad=False)

    class SaveB(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x, b):
            ctx.save_for_backward(b)
            return x * b

        @staticmethod
        def backward(ctx, grad):
            (b,) = ctx.saved_tensors
            return grad * b, None

    out = SaveB.apply(x, b)
    with tg.no_grad():
        b.add_(1)
    with pytest.raises(RuntimeError) as e:
        out.sum().backward()
    assert str(e.value) == (
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        "[tritongrad.DoubleTensor [3]] is at version 1; expected version 0 instead. Hint: enable anomaly detection "
        "to find the operation that failed to compute its gradient, with "
        "tritongrad.autograd.set_detect_anomaly(True, check_nan=False).")


def test_saved_tensors_freed_after_backward():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    out = Cube.apply(x)
    out.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        _ = out.grad_fn.saved_tensors
    x.grad = None
    out = Cube.apply(x)
    out.sum().backward(retain_graph=True)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 24.0])


def test_save_for_backward_rejects_non_tensors():
    class Bad(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 2

    with pytest.raises(TypeError, match="save_for_backward can only save variables, but argument 1 is of type int"):
        Bad.apply(tg.tensor([1.0], requires_grad=True))


@pytest.mark.parametrize("case", ["too_few", "grad_for_scalar", "too_many", "not_a_tensor"])
def test_backward_result_errors(case):
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    if case == "too_few":
        fn = _one("TooFew", lambda ctx, g: g, forward=lambda ctx, x, k: x * k)
        args, msg = (x, 2.0), "function TooFewBackward returned an incorrect number of gradients (expected 2, got 1)"
    elif case == "grad_for_scalar":
        fn = _one("ForScalar", lambda ctx, g: (g, g), forward=lambda ctx, x, k: x * k)
        args, msg = (x, 2.0), ("function ForScalarBackward returned a gradient different than None at position 2, "
                               "but the corresponding forward input was not a Variable")
    elif case == "too_many":
        fn = _one("TooMany", lambda ctx, g: (g, g))
        args, msg = (x,), "function TooManyBackward returned an incorrect number of gradients (expected 1, got 2)"
    else:
        fn = _one("NotTensor", lambda ctx, g: 3.0)
        args, msg = (x,), "expected Variable or None (got float)"
    with pytest.raises(RuntimeError) as e:
        fn.apply(*args).sum().backward()
    assert str(e.value) == msg


def test_extra_none_gradients_are_allowed():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    _one("ExtraNone", lambda ctx, g: (g * 2, None, None)).apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_gradient_shape_validation(torch):
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    fn = _one("Foo", lambda ctx, g: g[:2])
    with pytest.raises(RuntimeError) as e:
        fn.apply(x).sum().backward()
    assert str(e.value) == ("Function FooBackward returned an invalid gradient at index 0 - got [2] but expected "
                            "shape compatible with [3]")
    # the index counts tensor inputs only, as in PyTorch
    fn2 = _one("Two", lambda ctx, g: (g, None, g), forward=lambda ctx, x, k, y: x * k + y.sum())
    with pytest.raises(RuntimeError, match=r"TwoBackward returned an invalid gradient at index 1 - got \[3\] but "
                                           r"expected shape compatible with \[2\]"):
        fn2.apply(x, 2.0, tg.tensor([1.0, 2.0], requires_grad=True)).sum().backward()
    tfn = type("Two", (torch.autograd.Function,), {"forward": staticmethod(lambda ctx, x, k, y: x * k + y.sum()),
                                                    "backward": staticmethod(lambda ctx, g: (g, None, g))})
    with pytest.raises(RuntimeError, match="invalid gradient at index 1"):
        tfn.apply(torch.tensor([1.0, 2.0, 3.0], requires_grad=True), 2.0,
                  torch.tensor([1.0, 2.0], requires_grad=True)).sum().backward()


def test_broadcast_gradient_is_summed_and_dtype_cast(rng):
    x = randn(rng, (3, 1, 17), dtype=tg.float32)
    _one("Wide", lambda ctx, g: g.expand(4, 3, 5, 17).double()).apply(x).sum().backward()
    assert x.grad.dtype == tg.float32 and x.grad.shape == (3, 1, 17)
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 1, 17), 20.0))


def test_mark_non_differentiable_and_integer_outputs():
    seen = {}

    class Split(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            a, b = x * 2, x * 3
            ctx.mark_non_differentiable(b)
            return a, b, x > 1

        @staticmethod
        def backward(ctx, ga, gb, gi):
            seen.update(gb=gb, gi=gi)
            return ga * 2

    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a, b, i = Split.apply(x)
    assert a.requires_grad and a.grad_fn.name() == "SplitBackward"
    assert not b.requires_grad and b.grad_fn is None and not i.requires_grad
    a.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])
    # materialized: zeros of each output's shape and dtype
    np.testing.assert_array_equal(seen["gb"].numpy(), [0.0, 0.0, 0.0])
    assert seen["gi"].dtype == tg.bool and not seen["gi"].numpy().any()


def test_set_materialize_grads_false_passes_none():
    seen = {}

    class Two(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen.update(ga=ga, gb=gb)
            return ga * 2 if gb is None else ga * 2 + gb * 3

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a, b = Two.apply(x)
    a.sum().backward()
    assert seen["gb"] is None and seen["ga"] is not None
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


class MulTwo_(tg.autograd.Function):
    """x *= 2 in place."""

    @staticmethod
    def forward(ctx, x):
        x.mul_(2)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


def test_mark_dirty_rebases_history(device, rng):
    x = randn(rng, (33, 65) if device == "cpu" else (5, 3), device)
    z = x * 1
    out = MulTwo_.apply(z)
    assert out is z and z.grad_fn.name() == "MulTwo_Backward"
    assert z.grad_fn.next_functions[0][0].name() == "MulBackward0"
    assert z._version == 2  # the write, and mark_dirty's own bump (PyTorch's numbers)
    (z * z).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), 8 * x.detach().cpu().numpy(), rtol=1e-12)


def test_mark_dirty_errors(torch):
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad has been used in an in-place"):
        MulTwo_.apply(x)
    with pytest.raises(RuntimeError, match="^a view of a leaf Variable that requires grad is being used"):
        MulTwo_.apply(x.detach().requires_grad_()[1:])

    class NotReturned(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x * 2

    with pytest.raises(RuntimeError, match="^Some elements marked as dirty during the forward method were not "
                                           "returned as output. The inputs that are modified inplace must all be "
                                           "outputs of the Function.$"):
        NotReturned.apply(x * 1)

    class NotInput(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.clone()
            ctx.mark_dirty(y)
            return y

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.warns(UserWarning, match="ctx.mark_dirty\\(\\) received a tensor that was not an input"):
        NotInput.apply(x * 1)


def test_mark_dirty_on_a_view_rewrites_the_base(rng):
    x = randn(rng, (4, 6))
    b = x * 1
    v = b[1:]
    MulTwo_.apply(v)
    assert b.grad_fn.name() == "torch::autograd::CopySlices"
    b.sum().backward()
    expected = np.ones((4, 6))
    expected[1:] = 2
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_once_differentiable(torch):
    class Once(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        @once_differentiable
        def backward(ctx, grad):
            assert not tg.is_grad_enabled()
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * grad

    assert tg.autograd.function.once_differentiable is once_differentiable
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = tg.autograd.grad(Once.apply(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0, 27.0])
    (g,) = tg.autograd.grad((Once.apply(x) * x).sum(), x, create_graph=True)
    assert g.grad_fn.next_functions[1][0].name() == "Error"
    with pytest.raises(RuntimeError) as e:
        g.sum().backward()
    assert str(e.value) == "trying to differentiate twice a function that was marked with @once_differentiable"


def test_setup_context_style():
    class Scale(tg.autograd.Function):
        @staticmethod
        def forward(x, k):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.k = inputs[1]

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.k, None

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    Scale.apply(x, 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_missing_backward_raises():
    class NoBackward(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    with pytest.raises(NotImplementedError, match="You must implement either the backward or vjp method"):
        NoBackward.apply(tg.tensor([1.0], requires_grad=True)).sum().backward()


def test_returning_an_input_gives_a_new_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = x * 1
    out = _one("Ident", lambda ctx, g: g, forward=lambda ctx, x: x).apply(w)
    assert out is not w and out.grad_fn.name() == "IdentBackward" and w.grad_fn.name() == "MulBackward0"


def test_messages_match_pytorch(torch):
    """The same failing programs in PyTorch raise the same messages."""
    def run(lib, backward, forward=lambda ctx, x: x * 2):
        fn = type("Foo", (lib.autograd.Function,), {"forward": staticmethod(forward),
                                                     "backward": staticmethod(backward)})
        try:
            fn.apply(lib.tensor([1.0, 2.0, 3.0], requires_grad=True)).sum().backward()
        except RuntimeError as e:
            return str(e)

    for bwd in (lambda ctx, g: g[:2], lambda ctx, g: (g, g), lambda ctx, g: 3.0, lambda ctx, g: g.sum()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert run(tg, bwd) == run(torch, bwd)


def test_gradient_on_the_wrong_device(device):
    if device == "cpu":
        pytest.skip("needs a second device: runs with device=cuda (real or emulated)")
    fn = _one("Foo", lambda ctx, g: g.cpu())
    x = tg.randn(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        fn.apply(x).sum().backward()
    assert str(e.value) == ("Function FooBackward returned an invalid gradient at index 0 - expected device cuda:0 "
                            "but got cpu")
