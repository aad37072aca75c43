"""Op table rows: mm and matmul (NumPy's rules: 1-D operands, broadcast batch dims).

Backward passes transposed views (`dA = dC @ B^T`, `dB = A^T @ dC`): no transposed copies.
"""
from .table import Op, provides
from .util import broadcast_shapes, check_device

_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool"}


def _check(a, b, name):
    """Shapes, then dtypes, with the message of the kernel PyTorch's matmul would have called."""
    if a._be is not b._be:
        check_device(a, b)
    sa, sb = a._data.shape, b._data.shape  # NOTE: not .shape / .ndim: their property calls were 20% of mm's time
    na, nb = len(sa), len(sb)
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to {name} need to be at least 1D, but they are {na}D and {nb}D")
    k_a = sa[-1]
    k_b = sb[-2] if nb > 1 else sb[0]
    if nb > 2:  # batched (bmm) after broadcasting the batch dims
        batch = broadcast_shapes(sa[:-2], sb[:-2])
        if k_a != k_b:
            n = 1
            for s in batch:
                n *= s
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {k_a}] but "
                               f"got: [{n}, {k_b}].")
    elif k_a != k_b:
        m = 1
        for s in sa[:-1]:
            m *= s
        if na == 1 and nb == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{k_a}] and src [{k_b}] to have the same "
                               f"number of elements, but got {k_a} and {k_b} elements respectively")
        if nb == 1:
            raise RuntimeError(f"size mismatch, got input ({m}), mat ({m}x{k_a}), vec ({k_b})")
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{k_a} and {k_b}x{sb[-1]})")
    if a._dtype is not b._dtype or a._dtype.name == "bool":
        if a._dtype.name == "bool" or b._dtype.name == "bool":
            kernel = "dot" if na == 1 and nb == 1 else "addmv_impl_cpu" if nb == 1 else "addmm_impl_cpu_"
            raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')  # NOTE: PyTorch's CPU kernels' names
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_C_NAMES[a._dtype.name]} != "
                           f"{_C_NAMES[b._dtype.name]}")


class Matmul(Op):
    node_name = "UnsafeViewBackward0"
    _n_inputs = 2

    @staticmethod
    def forward(a, b):
        return a._be.matmul(a._data, b._data)

    @staticmethod
    def setup_context(ctx, inputs, out):
        a, b = inputs
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        ctx.shape_a, ctx.shape_b = a._data.shape, b._data.shape

    @staticmethod
    def formula(ctx, F, g):
        a, b = F.saved(ctx)
        na, nb = ctx.needs_input_grad
        return _grad_a(F, g, b, ctx.shape_a) if na else None, _grad_b(F, g, a, ctx.shape_b) if nb else None


def _swap_last(x):
    n = len(x.shape)
    return tuple(range(n - 2)) + (n - 1, n - 2)


def _grad_a(F, g, b, shape_a):
    if len(shape_a) == 1 and len(b.shape) == 1:  # a dot product: g is 0-dim
        return F.mul(g, b)
    if len(shape_a) == 1:  # a was a vector: g has lost a's row dim
        g = F.view(g, g.shape[:-1] + (1,) + g.shape[-1:])
    if len(b.shape) == 1:  # outer product with b
        g, b = F.view(g, tuple(g.shape) + (1,)), F.view(b, (1,) + tuple(b.shape))
    else:
        b = F.permute(b, _swap_last(b))
    ga = F.matmul(g, b)
    if len(shape_a) == 1:
        ga = F.view(ga, ga.shape[:-2] + ga.shape[-1:])
    return F.sum_to(ga, shape_a)


def _grad_b(F, g, a, shape_b):
    if len(shape_b) == 1 and len(a.shape) == 1:  # a dot product: g is 0-dim
        return F.mul(g, a)
    if len(shape_b) == 1:
        g = F.view(g, tuple(g.shape) + (1,))
    if len(a.shape) == 1:
        g, a = F.view(g, g.shape[:-1] + (1,) + g.shape[-1:]), F.view(a, tuple(a.shape) + (1,))
    else:
        a = F.permute(a, _swap_last(a))
    gb = F.matmul(a, g)
    if len(shape_b) == 1:
        gb = F.view(gb, gb.shape[:-1])
    return F.sum_to(gb, shape_b)


class Mm(Matmul):
    node_name = "MmBackward0"
    saved_as = {"mat2": 1, "self": 0, "mat2_sym_sizes": "shape_b", "self_sym_sizes": "shape_a"}

    @staticmethod
    def formula(ctx, F, g):
        a, b = F.saved(ctx)
        na, nb = ctx.needs_input_grad
        return F.matmul(g, F.t(b)) if na else None, F.matmul(F.t(a), g) if nb else None


class Mv(Matmul):
    node_name = "MvBackward0"
    saved_as = {"self": 0, "vec": 1}


class Dot(Matmul):
    node_name = "DotBackward0"
    saved_as = {"self": 0, "tensor": 1}


class VecMat(Matmul):
    node_name = "SqueezeBackward4"


_BY_NDIM = {(2, 2): Mm, (2, 1): Mv, (1, 1): Dot, (1, 2): VecMat}


def _matmul(a, b):
    """a @ b of checked operands; the node is named as PyTorch names it (F.matmul on Tensors)."""
    return _BY_NDIM.get((a.ndim, b.ndim), Matmul).apply(a, b)


provides("matmul", _matmul)


def matmul(a, b):
    """a @ b with NumPy's (and PyTorch's) rules."""
    _check(a, b, "matmul")
    return _matmul(a, b)


def mm(a, b):
    if len(a._data.shape) != 2:
        raise RuntimeError("self must be a matrix")
    if len(b._data.shape) != 2:
        raise RuntimeError("mat2 must be a matrix")
    _check(a, b, "mm")
    return Mm.apply(a, b)
