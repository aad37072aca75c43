"""Your own Triton kernel with autograd: a fused SiLU, silu(x) = x * sigmoid(x), forward and backward.

A user of tritongrad writes two Triton kernels (below, nothing from tritongrad's own kernels), wraps
them in a `tg.autograd.Function` whose forward and backward launch them on CUDA tensors (and use
NumPy on the CPU), checks the gradients with `tg.autograd.gradcheck` in float64, and trains a small
network with the new activation:

    python examples/custom_triton_op.py                       # on CUDA when available, else the CPU
    python examples/custom_triton_op.py --device cpu --steps 300
    TRITONGRAD_EMULATE_CUDA=1 python examples/custom_triton_op.py --device cuda --steps 20

Why fuse: `x * x.sigmoid()` as two ops reads and writes memory three times forward and keeps two
tensors for backward; the fused kernel reads x once, writes y once, and backward needs only x.
"""
import argparse

import numpy as np

# isort: off
# NOTE: tritongrad before triton: on an emulated device (TRITONGRAD_EMULATE_CUDA=1) importing tritongrad
# switches Triton to its interpreter, which Triton must see before it is imported.
import tritongrad as tg
import triton
import triton.language as tl
# isort: on

BLOCK = 1024


# --- the kernels --------------------------------------------------------------------------------------
@triton.jit
def _sigmoid(x):
    return 1.0 / (1.0 + tl.exp(-x))  # exp overflows to inf for very negative x: 1 / inf = 0, no NaN


@triton.jit
def silu_fwd_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    """y[i] = x[i] * sigmoid(x[i]) for i < n; contiguous, same dtype (fp16/bf16 computed in fp32)."""
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)  # NOTE: int64: no overflow past 2**31
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    if x.dtype == tl.float16 or x.dtype == tl.bfloat16:
        x = x.to(tl.float32)
    tl.store(y_ptr + offs, (x * _sigmoid(x)).to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def silu_bwd_kernel(x_ptr, dy_ptr, dx_ptr, n, BLOCK: tl.constexpr):
    """dx[i] = dy[i] * s * (1 + x[i] * (1 - s)), s = sigmoid(x[i]): the derivative of x * sigmoid(x)."""
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    dy = tl.load(dy_ptr + offs, mask=mask)
    if x.dtype == tl.float16 or x.dtype == tl.bfloat16:
        x, dy = x.to(tl.float32), dy.to(tl.float32)
    s = _sigmoid(x)
    tl.store(dx_ptr + offs, (dy * s * (1.0 + x * (1.0 - s))).to(dx_ptr.dtype.element_ty), mask=mask)


# --- launch wrappers: CUDA tensors in, CUDA tensors out -------------------------------------------------
def silu_fwd_cuda(x):
    """Launch silu_fwd_kernel on a contiguous CUDA tensor. A tensor's `_data` is a
    tritongrad.cuda.DeviceArray, which has what Triton's launcher reads: data_ptr() and a dtype."""
    y = tg.empty_like(x)
    n = x.numel()
    silu_fwd_kernel[(triton.cdiv(n, BLOCK),)](x._data, y._data, n, BLOCK=BLOCK)  # on tritongrad's stream
    return y


def silu_bwd_cuda(x, dy):
    dx = tg.empty_like(x)
    n = x.numel()
    silu_bwd_kernel[(triton.cdiv(n, BLOCK),)](x._data, dy._data, dx._data, n, BLOCK=BLOCK)
    return dx


# --- the same math in NumPy, for CPU tensors ------------------------------------------------------------
def _sigmoid_np(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # NOTE: = 1 / (1 + exp(-a)), without exp's overflow warnings


def silu_fwd_cpu(x):
    a = x.detach().numpy()
    return tg.from_numpy(a * _sigmoid_np(a))


def silu_bwd_cpu(x, dy):
    a, g = x.detach().numpy(), dy.detach().numpy()
    s = _sigmoid_np(a)
    return tg.from_numpy(g * s * (1.0 + a * (1.0 - s)))


# --- autograd ------------------------------------------------------------------------------------------
class SiLU(tg.autograd.Function):
    """silu(x) = x * sigmoid(x) with our kernels; its node is named SiLUBackward.

    The backward launches a kernel too, so it is not itself differentiable: @once_differentiable
    makes a second differentiation (create_graph=True) raise instead of silently giving wrong answers.
    """

    @staticmethod
    def forward(ctx, x):
        x = x.contiguous()  # the kernels index memory linearly
        ctx.save_for_backward(x)  # backward recomputes sigmoid(x): nothing else is kept
        return silu_fwd_cuda(x) if x.is_cuda else silu_fwd_cpu(x)

    @staticmethod
    @tg.autograd.function.once_differentiable
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        dy = dy.contiguous()
        return silu_bwd_cuda(x, dy) if x.is_cuda else silu_bwd_cpu(x, dy)


silu = SiLU.apply


# --- check it, then train with it ---------------------------------------------------------------------
def check(device):
    """Gradcheck in float64 (central differences against our backward kernel), and our forward against
    the same function written with built-in ops."""
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((3, 5)) * 3, dtype=tg.float64, device=device, requires_grad=True)
    ok = tg.autograd.gradcheck(silu, (x,))
    reference = x * x.sigmoid()
    max_diff = (silu(x) - reference).abs().max().item()
    return ok, max_diff


def init(rng, device, hidden):
    """A 1 -> hidden -> hidden -> 1 network, initialized from NumPy so every device starts the same."""
    shapes = [(1, hidden), (hidden,), (hidden, hidden), (hidden,), (hidden, 1), (1,)]
    params = []
    for shape in shapes:
        scale = 1.0 / np.sqrt(shape[0]) if len(shape) == 2 else 0.0
        w = rng.standard_normal(shape) * scale if scale else np.zeros(shape)
        params.append(tg.tensor(w, dtype=tg.float32, device=device, requires_grad=True))
    return params


def model(params, x):
    w1, b1, w2, b2, w3, b3 = params
    h = silu(x @ w1 + b1)
    h = silu(h @ w2 + b2)
    return h @ w3 + b3


def train(device, steps, lr=0.05, hidden=32, n=64, seed=0):
    """Fit y = sin(3x) on [-1, 1] with SGD with momentum; returns the losses."""
    rng = np.random.default_rng(seed)
    xs = np.linspace(-1, 1, n).reshape(n, 1)
    x = tg.tensor(xs, dtype=tg.float32, device=device)
    y = tg.tensor(np.sin(3 * xs), dtype=tg.float32, device=device)
    params = init(rng, device, hidden)
    velocity = [tg.zeros_like(p) for p in params]
    losses = []
    for step in range(steps):
        loss = ((model(params, x) - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with tg.no_grad():
            for p, v in zip(params, velocity):
                v.mul_(0.9).add_(p.grad)
                p.sub_(v, alpha=lr)
        losses.append(loss.item())
        if step % max(1, steps // 10) == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {losses[-1]:.6f}")
    return losses


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if tg.cuda.is_available() else "cpu",
                        help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    print(f"device: {args.device}")
    ok, max_diff = check(args.device)
    print(f"gradcheck (float64) of our SiLU kernels: {ok}")
    print(f"max |silu(x) - x * sigmoid(x)|: {max_diff:.3e}")
    x = tg.randn(4, device=args.device, requires_grad=True)
    print(f"grad_fn of silu(x): {silu(x).grad_fn.name()}")
    losses = train(args.device, args.steps)
    print(f"loss: {losses[0]:.6f} -> {losses[-1]:.6f}")
    return {"gradcheck": ok, "max_diff": max_diff, "losses": losses}


if __name__ == "__main__":
    main()
