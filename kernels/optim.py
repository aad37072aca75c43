"""Fused optimizer updates: one kernel launch per parameter updates the parameter and its state
buffers in place, reading the gradient once (instead of a chain of elementwise launches).

    sgd_step:   d = ±g + wd * p;  buf = d (first step) or momentum * buf + (1 - dampening) * d;
                d = d + momentum * buf (nesterov) or buf;  p -= lr * d
    adam_step:  p *= 1 - lr * wd (AdamW) or d = ±g + wd * p (Adam);  m = b1 * m + (1 - b1) * d;
                v = b2 * v + (1 - b2) * d * d;  vmax = max(vmax, v) (amsgrad);
                p -= step_size * m / (sqrt(v or vmax) / bc2_sqrt + eps)

step_size = lr / (1 - b1**step) and bc2_sqrt = sqrt(1 - b2**step) are computed on the host, as
PyTorch's single-tensor Adam does. All operands are contiguous arrays of the parameter's dtype.

NOTE: math in fp32 for fp16 / bf16 / fp32 parameters and in fp64 for float64; hyper-parameters
are fp64 arguments that are not specialized, so changing the learning rate never recompiles.
"""
import triton
import triton.language as tl

from .._dtype import float64
from . import _utils as U, elementwise as E
from ._launch import fast

# NOTE: exactly each kernel's argument names (older Tritons look every name up in the signature)
_SGD_DNS = ["n", "lr", "momentum", "dampening", "weight_decay"]
_ADAM_DNS = ["n", "lr", "beta1", "beta2", "eps", "weight_decay", "step_size", "bc2_sqrt"]


@triton.jit
def _offsets(BLOCK: tl.constexpr, n):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)  # NOTE: int64: no overflow
    return offs, offs < n


@triton.jit
def _s(x, ACC: tl.constexpr):
    """A scalar argument (fp64) as a value of the compute type."""
    return tl.full((), x, ACC)


@triton.jit(do_not_specialize=_SGD_DNS)
def sgd_step_kernel(p_ptr, g_ptr, buf_ptr, n, lr: tl.float64, momentum: tl.float64, dampening: tl.float64,
                    weight_decay: tl.float64, ACC: tl.constexpr, HAS_WD: tl.constexpr, MAXIMIZE: tl.constexpr,
                    HAS_MOMENTUM: tl.constexpr, FIRST: tl.constexpr, NESTEROV: tl.constexpr,
                    BLOCK: tl.constexpr):
    """SGD with momentum / dampening / nesterov / weight decay on n elements, in place on p and buf."""
    offs, mask = _offsets(BLOCK, n)
    p = tl.load(p_ptr + offs, mask=mask).to(ACC)
    d = tl.load(g_ptr + offs, mask=mask).to(ACC)
    if MAXIMIZE:
        d = -d
    if HAS_WD:
        d += _s(weight_decay, ACC) * p
    if HAS_MOMENTUM:
        mom = _s(momentum, ACC)
        if FIRST:
            buf = d
        else:
            buf = tl.load(buf_ptr + offs, mask=mask).to(ACC) * mom + _s(1.0 - dampening, ACC) * d
        tl.store(buf_ptr + offs, buf.to(buf_ptr.dtype.element_ty), mask=mask)
        if NESTEROV:
            d = d + mom * buf
        else:
            d = buf
    p = p - _s(lr, ACC) * d
    tl.store(p_ptr + offs, p.to(p_ptr.dtype.element_ty), mask=mask)


@triton.jit(do_not_specialize=_ADAM_DNS)
def adam_step_kernel(p_ptr, g_ptr, m_ptr, v_ptr, vmax_ptr, n, lr: tl.float64, beta1: tl.float64, beta2: tl.float64,
                     eps: tl.float64, weight_decay: tl.float64, step_size: tl.float64, bc2_sqrt: tl.float64,
                     ACC: tl.constexpr, HAS_WD: tl.constexpr, DECOUPLED: tl.constexpr, AMSGRAD: tl.constexpr,
                     MAXIMIZE: tl.constexpr, BLOCK: tl.constexpr):
    """Adam / AdamW on n elements, in place on p, m (exp_avg), v (exp_avg_sq) and vmax (amsgrad)."""
    offs, mask = _offsets(BLOCK, n)
    p = tl.load(p_ptr + offs, mask=mask).to(ACC)
    d = tl.load(g_ptr + offs, mask=mask).to(ACC)
    if MAXIMIZE:
        d = -d
    if HAS_WD:
        if DECOUPLED:
            p = p * _s(1.0 - lr * weight_decay, ACC)
        else:
            d += _s(weight_decay, ACC) * p
    b1 = _s(beta1, ACC)
    b2 = _s(beta2, ACC)
    m = tl.load(m_ptr + offs, mask=mask).to(ACC)
    m = m + (1.0 - b1) * (d - m)  # NOTE: lerp, as PyTorch's exp_avg.lerp_(grad, 1 - beta1)
    v = tl.load(v_ptr + offs, mask=mask).to(ACC) * b2 + (1.0 - b2) * d * d
    tl.store(m_ptr + offs, m.to(m_ptr.dtype.element_ty), mask=mask)
    tl.store(v_ptr + offs, v.to(v_ptr.dtype.element_ty), mask=mask)
    if AMSGRAD:
        v = tl.maximum(tl.load(vmax_ptr + offs, mask=mask).to(ACC), v)
        tl.store(vmax_ptr + offs, v.to(vmax_ptr.dtype.element_ty), mask=mask)
    denom = tl.sqrt(v) / _s(bc2_sqrt, ACC) + _s(eps, ACC)
    p = p - _s(step_size, ACC) * (m / denom)
    tl.store(p_ptr + offs, p.to(p_ptr.dtype.element_ty), mask=mask)


# ----------------------------------------------------------------------------------------------------
# launch wrappers
# ----------------------------------------------------------------------------------------------------
def _block(n):
    if U.INTERPRET:  # NOTE: ~1 ms per program instance in the interpreter: as few as possible
        return max(16, min(triton.next_power_of_2(n), 1 << 15))
    return 1024


def _check(p, others):
    if p.dtype not in U.FLOATS:
        raise TypeError(f"optimizer steps need a floating-point parameter, got {p.dtype.name}")
    for a in others:
        if a is not None and (tuple(a.shape) != tuple(p.shape) or a.dtype is not p.dtype):
            raise ValueError(f"optimizer step: array {a.shape} {a.dtype.name} does not match the parameter "
                             f"{p.shape} {p.dtype.name}")


def _run(launch, p, g, states):
    """Launch on contiguous operands; a non-contiguous parameter or state is updated through a
    contiguous copy that is written back (rare: parameters and states are made contiguous)."""
    g = E.contiguous(g)
    work = [a if a is None or a.is_contiguous() else E.contiguous(a) for a in (p, *states)]
    n = U.numel(p.shape)
    if n:
        launch(n, work[0], g, *work[1:])
    for orig, w in zip((p, *states), work):
        if w is not orig:
            E.copy_(orig, w)


def sgd_step(p, g, buf, lr, momentum, dampening, nesterov, weight_decay, maximize, first):
    """One SGD step in place on DeviceArrays p (parameter) and buf (momentum buffer, or None)."""
    _check(p, (g, buf))
    has_mom = momentum != 0
    if has_mom and buf is None:
        raise ValueError("sgd_step with momentum needs a momentum buffer")
    acc = tl.float64 if p.dtype is float64 else tl.float32

    def launch(n, p, g, buf):
        block = _block(n)
        fast(sgd_step_kernel)[(U.cdiv(n, block),)](
            p, g, buf if buf is not None else p, n, float(lr), float(momentum), float(dampening),
            float(weight_decay), ACC=acc, HAS_WD=weight_decay != 0, MAXIMIZE=bool(maximize), HAS_MOMENTUM=has_mom,
            FIRST=bool(first), NESTEROV=bool(nesterov), BLOCK=block, num_warps=4)

    _run(launch, p, g, (buf,))
    return p


def adam_step(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, decoupled,
              amsgrad, maximize):
    """One Adam (decoupled=False) or AdamW (decoupled=True) step in place; `step` counts from 1."""
    _check(p, (g, exp_avg, exp_avg_sq, max_exp_avg_sq))
    if amsgrad and max_exp_avg_sq is None:
        raise ValueError("adam_step with amsgrad needs max_exp_avg_sq")
    step_size = lr / (1 - beta1 ** step)
    bc2_sqrt = (1 - beta2 ** step) ** 0.5
    acc = tl.float64 if p.dtype is float64 else tl.float32

    def launch(n, p, g, m, v, vmax):
        block = _block(n)
        fast(adam_step_kernel)[(U.cdiv(n, block),)](
            p, g, m, v, vmax if vmax is not None else v, n, float(lr), float(beta1), float(beta2), float(eps),
            float(weight_decay), float(step_size), float(bc2_sqrt), ACC=acc, HAS_WD=weight_decay != 0,
            DECOUPLED=bool(decoupled), AMSGRAD=bool(amsgrad), MAXIMIZE=bool(maximize), BLOCK=block, num_warps=4)

    _run(launch, p, g, (exp_avg, exp_avg_sq, max_exp_avg_sq if amsgrad else None))
    return p
