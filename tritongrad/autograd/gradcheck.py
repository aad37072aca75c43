"""gradcheck and gradgradcheck: autograd's gradients against float64 central finite differences.

PyTorch's functions of the same names, signatures and defaults. For every differentiable input j
and output i, the numerical Jacobian (perturb each input element by +-eps, one at a time) and the
analytical one (one backward pass per output element) are compared elementwise with
|analytical - numerical| <= atol + rtol * |numerical|; a mismatch raises GradcheckError naming
the pair and printing both Jacobians (rows: input elements, columns: output elements). Then, as
in PyTorch: backward must be deterministic (`nondet_tol`), scale with grad_output (all-zero
grad_outputs give zero gradients), and cope with undefined (None) output gradients.

`fast_mode=True` compares one random projection v^T J u per (input, output) pair instead of whole
Jacobians, and recomputes the full Jacobians only to explain a failure. Forward-mode AD and vmap
do not exist in tritongrad, so the checks that need them raise NotImplementedError.
"""
import warnings

import numpy as np

from .._dtype import float64
from ..random import generator_for
from .engine import grad as _grad
from .function import Function


class GradcheckError(RuntimeError):
    """Raised by gradcheck and gradgradcheck when a check fails."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _is_tensor(x):
    return hasattr(x, "_vc")  # NOTE: tritongrad.Tensor, without importing tensor.py (it imports us)


def _differentiable_outputs(out):
    return tuple(o for o in _as_tuple(out) if _is_tensor(o) and o.requires_grad)


def _host(t):
    """A float64 NumPy copy of tensor t (any dtype, any device)."""
    t = t.detach()
    return (t.to(float64) if t.dtype.is_floating_point else t).cpu().numpy().astype(np.float64)


def _like(a, t, requires_grad=False):
    """NumPy array a as a tensor with t's dtype and device."""
    return t.new_tensor(a, dtype=t.dtype, device=t.device).requires_grad_(requires_grad)


def _as_tensor(a, like):
    """NumPy array a as a float64 CPU tensor (for messages: it prints as PyTorch prints its Jacobians)."""
    return like.new_tensor(a, dtype=float64, device="cpu")


# --- Jacobians ------------------------------------------------------------------------------------
def _numerical_columns(func, inputs, j, direction, eps):
    """d func(inputs) / d (inputs[j] along `direction`), by central differences: one flat float64 array
    per output (all outputs, differentiable or not). `direction` has inputs[j]'s shape."""
    x = inputs[j]
    base = _host(x)

    def run(sign):
        args = list(inputs)
        args[j] = _like(base + sign * eps * direction, x, x.requires_grad)
        return [_host(o).reshape(-1) for o in _as_tuple(func(*args)) if _is_tensor(o)]

    plus, minus = run(1), run(-1)
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def _numerical_jacobians(func, inputs, eps):
    """J[j][i]: (numel of diff input j, numel of output i), for every tensor output i."""
    result = []
    for j in _diff_indices(inputs):
        x = inputs[j]
        columns = []
        for k in range(x.numel()):
            e = np.zeros(x.numel())
            e[k] = 1.0
            columns.append(_numerical_columns(func, inputs, j, e.reshape(tuple(x.shape)), eps))
        n_out = len(columns[0]) if columns else 0
        result.append([np.stack([c[i] for c in columns]) if columns else np.zeros((0, 0)) for i in range(n_out)])
    return result


def _vjp(output, diff, v):
    """Gradients of output, weighted by host array v, with respect to the tensors diff (None where unused)."""
    return _grad(output, diff, _like(v, output), retain_graph=True, allow_unused=True)


def _analytical_jacobian(diff, output, nondet_tol, check_grad_dtypes):
    """A[j]: (numel of diff[j], numel of output), one backward per output element, computed twice."""
    jacobians = []
    for _ in range(2):  # NOTE: twice, to catch a nondeterministic backward
        cols = [np.zeros((x.numel(), output.numel())) for x in diff]
        for k in range(output.numel()):
            v = np.zeros(output.numel())
            v[k] = 1.0
            for j, (g, x) in enumerate(zip(_vjp(output, diff, v.reshape(tuple(output.shape))), diff)):
                if g is None:
                    continue
                if g.shape != x.shape:
                    raise GradcheckError("Analytical gradient has incorrect size")
                if check_grad_dtypes and g.dtype != x.dtype:
                    raise GradcheckError("Gradient has dtype mismatch")
                cols[j][:, k] = _host(g).reshape(-1)
        jacobians.append(cols)
    for a1, a2 in zip(*jacobians):
        if a1.size and np.abs(a1 - a2).max() > nondet_tol:
            raise GradcheckError(
                "Backward is not reentrant, i.e., running backward with same input and grad_output multiple times "
                "gives different values, although analytical gradient matches numerical gradient."
                f"The tolerance for nondeterminism was {nondet_tol}.")
    return jacobians[0]


def _allclose(a, n, rtol, atol):
    return bool(np.all(np.abs(a - n) <= atol + rtol * np.abs(n)))


def _mismatch(i, j, numerical, analytical, like):
    return (f"Jacobian mismatch for output {i:d} with respect to input {j:d},\n"
            f"numerical:{_as_tensor(numerical, like)}\nanalytical:{_as_tensor(analytical, like)}\n")


def _diff_indices(inputs):
    return [k for k, x in enumerate(inputs) if _is_tensor(x) and x.requires_grad]


# --- the checks ---------------------------------------------------------------------------------------
def _slow_check(func, inputs, func_out, outputs, eps, rtol, atol, nondet_tol, check_grad_dtypes):
    numerical = _numerical_jacobians(func, inputs, eps)  # [input][every tensor output]
    tensor_outs = [o for o in func_out if _is_tensor(o)]
    if not outputs:
        if any(np.any(n != 0) for per_input in numerical for n in per_input):
            raise GradcheckError("Numerical gradient for function expected to be zero")
        return
    diff = [inputs[k] for k in _diff_indices(inputs)]
    keep = [k for k, o in enumerate(tensor_outs) if o.requires_grad]
    for i, o in enumerate(outputs):
        analytical = _analytical_jacobian(diff, o, nondet_tol, check_grad_dtypes)
        for j, a in enumerate(analytical):
            n = numerical[j][keep[i]]
            if not _allclose(a, n, rtol, atol):
                raise GradcheckError(_mismatch(i, j, n, a, o))


def _fast_check(func, inputs, func_out, outputs, eps, rtol, atol, nondet_tol, check_grad_dtypes):
    rng = np.random.default_rng(0)
    idx = _diff_indices(inputs)
    diff = [inputs[k] for k in idx]
    us = []
    for x in diff:
        u = rng.random(tuple(x.shape))
        us.append(u / max(np.linalg.norm(u), 1e-300))
    tensor_outs = [o for o in func_out if _is_tensor(o)]
    keep = [k for k, o in enumerate(tensor_outs) if o.requires_grad]
    numerical = [_numerical_columns(func, inputs, k, u, eps) for k, u in zip(idx, us)]  # [input][output]
    if not outputs:
        if any(np.any(n != 0) for per_input in numerical for n in per_input):
            raise GradcheckError("Numerical gradient for function expected to be zero")
        return
    for i, o in enumerate(outputs):
        v = rng.random(tuple(o.shape))
        v = v / max(np.linalg.norm(v), 1e-300)
        runs = [_vjp(o, diff, v) for _ in range(2)]
        for j, (u, x) in enumerate(zip(us, diff)):
            g1, g2 = (g if g is None else _host(g) for g in (runs[0][j], runs[1][j]))
            if g1 is not None and g1.shape != tuple(x.shape):
                raise GradcheckError("Analytical gradient has incorrect size")
            if g1 is not None and np.abs(g1 - g2).max(initial=0.0) > nondet_tol:
                raise GradcheckError("Backward is not reentrant, i.e., running backward with same input and "
                                     "grad_output multiple times gives different values, although analytical "
                                     f"gradient matches numerical gradient.The tolerance for nondeterminism was "
                                     f"{nondet_tol}.")
            a = 0.0 if g1 is None else float((g1 * u).sum())
            n = float((numerical[j][keep[i]] * v.reshape(-1)).sum())
            if not _allclose(np.array(a), np.array(n), rtol, atol * u.sum() * v.sum()):
                raise GradcheckError(_mismatch(i, j, np.array(n), np.array(a), o) + _slow_explanation(
                    func, inputs, diff, o, keep[i], idx[j], j, eps, rtol, atol))


def _slow_explanation(func, inputs, diff, output, out_k, in_k, j, eps, rtol, atol):
    """The whole Jacobians of one (input, output) pair, to explain a fast-mode failure (as PyTorch does)."""
    x = inputs[in_k]
    cols = []
    for k in range(x.numel()):
        e = np.zeros(x.numel())
        e[k] = 1.0
        cols.append(_numerical_columns(func, inputs, in_k, e.reshape(tuple(x.shape)), eps)[out_k])
    numerical = np.stack(cols) if cols else np.zeros((0, output.numel()))
    analytical = _analytical_jacobian(diff, output, float("inf"), False)[j]
    msg = ("\nThe above quantities relating the numerical and analytical jacobians are computed \n"
           "in fast mode. Below, we recompute numerical and analytical jacobians in slow mode:\n\n"
           f"Numerical:\n {_as_tensor(numerical, x)}\nAnalytical:\n{_as_tensor(analytical, x)}\n\n"
           f"The max per-element difference (slow mode) is: {np.abs(numerical - analytical).max(initial=0.0)}.\n")
    if _allclose(analytical, numerical, rtol, atol):
        msg += "\nFast gradcheck failed but element-wise differences are small: slow mode would have passed.\n"
    return msg


def _test_backward_mul_by_grad_output(outputs, diff):
    grads = _grad(outputs, diff, [_like(np.zeros(tuple(o.shape)), o) for o in outputs], allow_unused=True)
    for g, x in zip(grads, diff):
        if g is None:
            continue
        if np.any(_host(g) != 0):
            raise GradcheckError("backward not multiplied by grad_output")
        if g.dtype != x.dtype:
            raise GradcheckError("grad is incorrect type")
        if g.device != x.device:
            raise GradcheckError("grad is incorrect device")
        if g.shape != x.shape:
            raise GradcheckError("grad is incorrect size")


class _UndefinedGrad(Function):
    """Identity whose backward passes None on: what the outputs' nodes see as an undefined gradient."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, grad):
        return None


def _test_undefined_backward_mode(func, inputs, diff):
    def check(outs):
        zeros = [_like(np.zeros(tuple(o.shape)), o) for o in outs]
        try:
            grads = _grad(outs, diff, zeros, allow_unused=True)
        except RuntimeError as e:
            raise GradcheckError('Expected backward function to handle undefined output grads. Please look at '
                                 '"Notes about undefined output gradients" in "tools/autograd/derivatives.yaml"') from e
        for g in grads:
            if g is not None and np.any(_host(g) != 0):
                raise GradcheckError("Expected all input grads to be undefined or zero when all output grads are "
                                     'undefined or zero. Please look at "Notes about undefined output gradients" in '
                                     '"tools/autograd/derivatives.yaml"')

    outs = _differentiable_outputs(func(*inputs))
    check([_UndefinedGrad.apply(o) for o in outs])
    if len(outs) > 1:  # one undefined at a time
        for k in range(len(outs)):
            fresh = _differentiable_outputs(func(*inputs))
            check([_UndefinedGrad.apply(o) if n == k else o for n, o in enumerate(fresh)])


def _check_inputs(inputs):
    found = False
    for idx, x in enumerate(inputs):
        if _is_tensor(x) and x.requires_grad:
            if x.dtype != float64:
                warnings.warn(f"Input #{idx} requires gradient and is not a double precision floating point or "
                              "complex. This check will likely fail if all the inputs are not of double precision "
                              "floating point or complex. ", stacklevel=4)
            if any(st == 0 and sz > 1 for st, sz in zip(x.stride(), x.shape)):
                raise RuntimeError(f"The {idx}th input has a dimension with stride 0. gradcheck only supports inputs "
                                   "that are non-overlapping to be able to compute the numerical gradients "
                                   "correctly. You should call .contiguous on the input before passing it to "
                                   "gradcheck.")
            found = True
    if not found:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of them have "
                         "requires_grad=True.")


def _missing(**flags):
    for name, value in flags.items():
        if value:
            raise NotImplementedError(f"gradcheck({name}=True) is not available: tritongrad has no forward-mode AD "
                                      "and no vmap")


# --- public ---------------------------------------------------------------------------------------------
def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True, fast_mode=False,
              masked=None):
    """Check the gradients of `func` at `inputs` against float64 central finite differences.

    Args:
        func: takes the inputs, returns a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple (non-tensors are passed through); those that require grad are checked.
        eps, atol, rtol: finite-difference step and tolerances (PyTorch's defaults; made for float64).
        raise_exception: raise GradcheckError with the details (default) or return False.
        nondet_tol: how far two backward passes on the same grad_output may differ.
        check_undefined_grad: also check that backward copes with undefined (None) output gradients.
        check_grad_dtypes: also require each gradient to have its input's dtype.
        fast_mode: compare random projections v^T J u instead of whole Jacobians.
        masked: PyTorch's sparse-tensor option; tritongrad has no sparse tensors, so it changes nothing.

    Returns:
        True when every check passes.

    Example:
        >>> x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
        >>> tg.autograd.gradcheck(lambda t: (t * t).sigmoid(), (x,))
        True
    """
    _missing(check_batched_grad=check_batched_grad, check_batched_forward_grad=check_batched_forward_grad,
             check_forward_ad=check_forward_ad)
    if not check_backward_ad:
        raise ValueError("Expected at least one of check_forward_ad or check_backward_ad to be True")
    try:
        inputs = _as_tuple(inputs)
        _check_inputs(inputs)
        func_out = _as_tuple(func(*inputs))
        outputs = _differentiable_outputs(func_out)
        check = _fast_check if fast_mode else _slow_check
        check(func, inputs, func_out, outputs, eps, rtol, atol, nondet_tol, check_grad_dtypes)
        if outputs:
            diff = [inputs[k] for k in _diff_indices(inputs)]
            _test_backward_mul_by_grad_output(outputs, diff)
            if check_undefined_grad:
                _test_undefined_backward_mode(func, inputs, diff)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0, check_undefined_grad=True,
                  check_grad_dtypes=False, check_batched_grad=False, check_fwd_over_rev=False,
                  check_rev_over_rev=True, fast_mode=False, masked=False):
    """Check second derivatives: gradcheck of the map (inputs, grad_outputs) -> gradients of func.

    Args:
        func, inputs, eps, atol, rtol, ...: as in gradcheck.
        grad_outputs: the gradients with respect to func's outputs; random in [-1, 1) (float64,
            requiring grad) when None, non-contiguous with `gen_non_contig_grad_outputs`.

    Returns:
        True when every check passes.
    """
    _missing(check_fwd_over_rev=check_fwd_over_rev)
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        grad_outputs = tuple(_random_grad_output(o, gen_non_contig_grad_outputs)
                             for o in _differentiable_outputs(func(*inputs)))
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_out = len(grad_outputs)
    diff_inputs = {k for k, x in enumerate(inputs) if _is_tensor(x) and x.requires_grad}
    diff_grads = {k for k, g in enumerate(grad_outputs) if g.requires_grad}

    def new_func(*args):
        ins = tuple(x.requires_grad_() if k in diff_inputs else x for k, x in enumerate(args[:-n_out]))
        outs = _differentiable_outputs(func(*ins))
        gos = tuple(g.requires_grad_() if k in diff_grads else g for k, g in enumerate(args[-n_out:]))
        grads = _grad(outs, [x for k, x in enumerate(ins) if k in diff_inputs], gos, create_graph=True,
                      allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(new_func, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception,
                     nondet_tol=nondet_tol, check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad,
                     fast_mode=fast_mode, check_backward_ad=check_rev_over_rev, masked=masked)


def _random_grad_output(o, non_contiguous):
    """Uniform in [-1, 1), o's shape, dtype (float64 for integer outputs) and device; a leaf requiring grad."""
    dtype = o.dtype if o.dtype.is_floating_point else float64
    shape = o.shape[:-1] + (2 * o.shape[-1],) if non_contiguous and o.ndim else tuple(o.shape)
    g = o._make(o._be.rand(shape, dtype, generator_for(o._be.name))) * 2 - 1  # NOTE: tritongrad.rand's draw
    return (g[..., ::2] if non_contiguous and o.ndim else g).requires_grad_()
