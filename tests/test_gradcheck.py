"""gradcheck / gradgradcheck: pass on the built-in ops, catch wrong backwards with PyTorch's messages."""
import pytest
from helpers import randn

import tritongrad as tg
from tritongrad.autograd import GradcheckError, gradcheck, gradgradcheck

# (name, function, input shapes, positive inputs): small awkward shapes, broadcasting included
BUILTINS = [
    ("add", lambda a, b: a + b, [(3, 1, 4), (4,)], False),
    ("sub", lambda a, b: a - b, [(3, 1), (2, 1, 3)], False),
    ("mul", lambda a, b: a * b, [(3, 1, 4), (1, 5, 1)], False),
    ("div", lambda a, b: a / b, [(5,), (1,)], True),
    ("pow", lambda a, b: a ** b, [(2, 3), (2, 3)], True),
    ("pow_scalar", lambda a: a ** 3, [(7,)], False),
    ("exp_log", lambda a: a.exp() + a.log(), [(2, 5)], True),
    ("sqrt", lambda a: a.sqrt(), [(6,)], True),
    ("sigmoid_tanh", lambda a: a.sigmoid() * a.tanh(), [(3, 1, 4)], False),
    ("sin_cos", lambda a: a.sin() - a.cos(), [(1,)], False),
    ("relu", lambda a: a.relu(), [(9,)], False),
    ("clamp", lambda a: a.clamp(-0.5, 0.5), [(9,)], False),
    ("mm", lambda a, b: a @ b, [(3, 4), (4, 2)], False),
    ("matmul_batched", lambda a, b: a.matmul(b), [(2, 3, 4), (4, 1)], False),
    ("sum_dim", lambda a: a.sum(1, keepdim=True), [(3, 4)], False),
    ("mean", lambda a: a.mean(), [(3, 1, 4)], False),
    ("max_dim", lambda a: a.max(0)[0], [(3, 4)], False),
    ("views", lambda a: a.t().reshape(2, 6).unsqueeze(0).transpose(1, 2)[:, 1:4], [(3, 4)], False),
    ("expand", lambda a: a.expand(3, 2, 5) * 2, [(2, 1)], False),
]


@pytest.mark.parametrize("name,fn,shapes,positive", BUILTINS, ids=[b[0] for b in BUILTINS])
def test_gradcheck_passes_on_builtins(rng, name, fn, shapes, positive):
    inputs = tuple(randn(rng, s, positive=positive, away_from=None if positive else 0.0) for s in shapes)
    if name == "clamp":  # values away from the kinks at +-0.5
        inputs = (tg.tensor(rng.choice([-0.9, -0.3, 0.2, 0.7], size=shapes[0]), requires_grad=True),)
    assert gradcheck(fn, inputs) is True
    assert gradcheck(fn, inputs, fast_mode=True) is True


@pytest.mark.parametrize("name", ["mul", "div", "sigmoid_tanh", "mm", "exp_log"])
def test_gradgradcheck_passes_on_builtins(rng, name):
    _, fn, shapes, positive = next(b for b in BUILTINS if b[0] == name)
    inputs = tuple(randn(rng, s, positive=positive) for s in shapes)
    assert gradgradcheck(fn, inputs) is True
    assert gradgradcheck(fn, inputs, gen_non_contig_grad_outputs=True) is True


def test_gradcheck_on_device(device, rng):
    x = randn(rng, (2, 3), device)
    w = randn(rng, (3, 1), device)
    assert gradcheck(lambda a, b: (a @ b).sigmoid() * a, (x, w))


def _square_with_backward(backward):
    """x * x, with the given backward(ctx, grad, x)."""
    class Square(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

    Square.backward = staticmethod(lambda ctx, g: backward(ctx, g, ctx.saved_tensors[0]))
    return Square


def test_catches_a_wrong_backward(torch):
    wrong = _square_with_backward(lambda ctx, g, x: g * x)  # forgot the 2
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    with pytest.raises(GradcheckError) as e:
        gradcheck(wrong.apply, (x,))
    assert isinstance(e.value, RuntimeError)
    assert str(e.value) == ("Jacobian mismatch for output 0 with respect to input 0,\n"
                            "numerical:tensor([[2.0000, 0.0000],\n        [0.0000, 4.0000]], "
                            "dtype=tritongrad.float64)\n"
                            "analytical:tensor([[1., 0.],\n        [0., 2.]], dtype=tritongrad.float64)\n")
    assert gradcheck(wrong.apply, (x,), raise_exception=False) is False
    with pytest.raises(GradcheckError, match="^Jacobian mismatch for output 0 with respect to input 0,\nnumerical:"):
        gradcheck(wrong.apply, (x,), fast_mode=True)
    right = _square_with_backward(lambda ctx, g, x: 2 * g * x)
    assert gradcheck(right.apply, (x,)) and gradgradcheck(right.apply, (x,))

    # the same program in PyTorch gives the same message
    twrong = type("Square", (torch.autograd.Function,), {
        "forward": staticmethod(lambda ctx, x: (ctx.save_for_backward(x), x * x)[1]),
        "backward": staticmethod(lambda ctx, g: g * ctx.saved_tensors[0])})
    with pytest.raises(RuntimeError) as te:
        torch.autograd.gradcheck(twrong.apply, (torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True),))
    assert str(te.value).replace("torch.", "tritongrad.") == str(e.value)


def test_mismatch_names_the_input_and_output(rng):
    class TwoInTwoOut(tg.autograd.Function):
        @staticmethod
        def forward(ctx, a, k, b):
            return a * 2, a * b

        @staticmethod
        def backward(ctx, ga, gab):
            return ga * 2, None, gab  # d(a*b)/db is a, not 1; a's part from a*b is missing too

    a, b = randn(rng, (3,)), randn(rng, (3,))
    with pytest.raises(GradcheckError, match="^Jacobian mismatch for output 1 with respect to input 0,"):
        gradcheck(TwoInTwoOut.apply, (a, 1.5, b))


def test_catches_a_wrong_second_derivative():
    wrong = _square_with_backward(lambda ctx, g, x: 2 * g * x.detach())  # first derivative right, second lost
    x = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    assert gradcheck(wrong.apply, (x,))
    with pytest.raises(GradcheckError, match="^Jacobian mismatch for output 0 with respect to input 0,"):
        gradgradcheck(wrong.apply, (x,))


def test_backward_not_multiplied_by_grad_output():
    ignores_g = _square_with_backward(lambda ctx, g, x: 2 * x + 0 * g)
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    # its Jacobian rows come out right only for one-hot grad_outputs of a single element...
    with pytest.raises(GradcheckError):
        gradcheck(ignores_g.apply, (x,))
    # ...and a scalar output hides that, but not from the zero-grad_output check
    scalar = _square_with_backward(lambda ctx, g, x: 2 * x + 0 * g)
    y = tg.tensor(1.5, dtype=tg.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="^backward not multiplied by grad_output$"):
        gradcheck(scalar.apply, (y,))


def test_nondeterministic_backward():
    noisy = _square_with_backward(lambda ctx, g, x: 2 * g * x * (1 + tg.randn(*x.shape, dtype=x.dtype) * 1e-9))
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="^Backward is not reentrant"):
        gradcheck(noisy.apply, (x,))
    assert gradcheck(noisy.apply, (x,), nondet_tol=1e-6, check_undefined_grad=False)


def test_undefined_output_grads(torch):
    """Each output's Jacobian rows come from a backward where the other outputs' gradients are undefined
    (None with set_materialize_grads(False)): a backward that cannot take None fails as in PyTorch."""
    def two_out(lib, handles_none):
        class TwoOut(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, ga, gb):
                if handles_none:  # NOTE: PyTorch also calls it with both None; tritongrad skips such a node
                    parts = [g * k for g, k in ((ga, 2), (gb, 3)) if g is not None]
                    return sum(parts[1:], parts[0]) if parts else None
                return ga * 2 + gb * 3

        return TwoOut

    for lib in (tg, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        with pytest.raises(TypeError, match="unsupported operand type"):
            lib.autograd.gradcheck(two_out(lib, False).apply, (x,))
        assert lib.autograd.gradcheck(two_out(lib, True).apply, (x,))


def test_input_checks():
    with pytest.raises(ValueError, match="^gradcheck expects at least one input tensor to require gradient"):
        gradcheck(lambda a: a * 2, (tg.tensor([1.0], dtype=tg.float64),))
    x32 = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="^Input #0 requires gradient and is not a double precision"):
        gradcheck(lambda a: a * 2, (x32,), eps=1e-3, atol=1e-3)
    wide = tg.tensor([1.0, 2.0], dtype=tg.float64).expand(3, 2).requires_grad_()
    with pytest.raises(RuntimeError, match="^The 0th input has a dimension with stride 0"):
        gradcheck(lambda a: a * 2, (wide,))
    with pytest.raises(NotImplementedError, match="forward-mode AD"):
        gradcheck(lambda a: a * 2, (tg.tensor([1.0], dtype=tg.float64, requires_grad=True),), check_forward_ad=True)


def test_non_differentiable_outputs():
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda a: (a * 2, a > 1), (x,))
    with pytest.raises(GradcheckError, match="^Numerical gradient for function expected to be zero$"):
        gradcheck(lambda a: (a * 2).detach(), (x,))


def test_single_tensor_input_and_numpy_values(rng):
    x = randn(rng, (97,))
    assert gradcheck(lambda a: (a * a).sum(), x)
    assert x.grad is None  # gradcheck leaves .grad alone
