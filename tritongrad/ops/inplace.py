"""In-place ops: every check first, then the write, then the version bump.

Without a graph to record, the write is one in-place backend primitive (the SGD step). With one,
the op runs out of place on a snapshot of the target (same memory, the target's history), the
result is written back, and the target takes the new node as its history, as PyTorch rebases it.
An in-place op on a view rewrites its base's history with a CopySlices node (autograd/views.py).
"""
from .. import _dtype as dt
from ..autograd.grad_mode import shared, state
from ..autograd.graph import edge, multi_view_error
from ..autograd.views import copy_slices
from . import util
from .overlap import check_partial_overlap, writable
from .table import Op, provides
from .util import broadcast_shapes, check_device, result_type, size_str

LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
INFERENCE_INPLACE = ("Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to "
                     "get a normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 "
                     "for more details.")
VIEW_OF_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place operation."
_SCALAR_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                 "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a single memory "
           "location. Please clone() the tensor before performing the operation.")


def _check_overlap(t):
    """An expanded tensor (stride 0 over a dim of size > 1) cannot be written to."""
    if not t._be.is_contiguous(t._data):
        for size, stride in zip(t._data.shape, t._be.strides(t._data)):
            if stride == 0 and size > 1:
                raise RuntimeError(OVERLAP)


_NUMBER = (int, float)


def check_alpha(rt, alpha, name="add"):
    """PyTorch's checks of add / sub's `alpha` against the result dtype `rt` (`name`: the op, for the message)."""
    if isinstance(alpha, complex):
        raise RuntimeError("For non-complex input tensors, argument alpha must not be a complex number.")
    if not isinstance(alpha, (int, float)):
        raise TypeError(f"{name}(): argument 'alpha' must be Number, not {type(alpha).__name__}")
    if isinstance(alpha, bool) and rt is not dt.bool_:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if alpha != 1 and isinstance(alpha, float) and not rt.is_floating_point:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")


def _check_autograd(t):
    if shared.inference_seen and not state.inference and t.is_inference():
        raise RuntimeError(INFERENCE_INPLACE)
    if not state.grad_enabled:
        return
    if t._grad_fn is None and t._requires_grad:
        raise RuntimeError(LEAF)
    if t._multi_view and t._requires_grad:  # NOTE: before the view-of-a-leaf check, as PyTorch's check_inplace
        raise multi_view_error(t, False)
    base = t._base
    if base is not None and base._grad_fn is None and base._requires_grad:
        raise RuntimeError(VIEW_OF_LEAF)


def _check_shape(t, other):
    if isinstance(other, util.Tensor) and other.shape != t.shape:
        shape = broadcast_shapes(t.shape, other.shape)
        if shape != t.shape:
            raise RuntimeError(f"output with shape {size_str(t.shape)} doesn't match the broadcast shape "
                               f"{size_str(shape)}")


def _needs_graph(t, *others):
    return state.grad_enabled and (t._requires_grad or any(isinstance(o, util.Tensor) and o._requires_grad
                                                           for o in others))


def _check_bool_sub(t, other):
    from .._signatures import bool_sub

    bool_sub(t, other)


def _check_operand(t, op, other, alpha):
    """`other`'s device, broadcast shape and dtype must suit an in-place write into t (PyTorch's messages)."""
    if isinstance(other, util.Tensor):
        check_device(t, other)
    elif isinstance(other, complex):  # NOTE: no complex dtypes here; PyTorch's error for a complex result
        raise RuntimeError(f"result type {_complex_name(t._dtype)} can't be cast to the desired output type "
                           f"{_SCALAR_NAMES[t._dtype.name]}")
    elif not isinstance(other, (int, float)):
        raise TypeError(f"{op}_(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
    if op == "sub":
        _check_bool_sub(t, other)
    _check_shape(t, other)
    rt = result_type(t, other)
    if alpha != 1 or alpha.__class__ is not int:
        check_alpha(rt, alpha, op + "_")
    if op == "div" and not rt.is_floating_point:
        rt = dt.get_default_dtype()
    if rt._kind > t._dtype._kind:
        raise RuntimeError(f"result type {_SCALAR_NAMES[rt.name]} can't be cast to the desired output type "
                           f"{_SCALAR_NAMES[t._dtype.name]}")


def binary_(t, op, other, alpha=1, record=None):
    """t = t op (alpha * other); `record(snapshot)`: the out-of-place op a graph records, when the method
    of that name is not t.<op>(other) (div_floor is div(..., rounding_mode="floor") or floor_divide)."""
    if not (other.__class__ is t.__class__ and other._dtype is t._dtype and t._dtype.is_floating_point
            and other._be is t._be and other._data.shape == t._data.shape
            and alpha.__class__ in _NUMBER):  # NOTE: an SGD step needs none of these
        other = util.cpu_scalar_to(t, other)
        _check_operand(t, op, other, alpha)
    _check_overlap(t)
    check_partial_overlap(t, other)
    _check_autograd(t)
    if not _needs_graph(t, other):
        b = other
        if isinstance(other, util.Tensor):
            b = (other if other._dtype is t._dtype else other.to(t._dtype))._data
        t._be.binary_(op, t._data, b, alpha)
        t._vc[0] += 1
        return t
    kw = {"alpha": alpha} if alpha != 1 else {}
    return _record(t, lambda s: (record(s) if record else getattr(s, op)(other, **kw)).to(t._dtype))


def copy_(t, src):
    """t[...] = src, broadcasting src and casting it to t's dtype and device."""
    if isinstance(src, util.Tensor):
        _check_shape(t, src)
    elif not isinstance(src, (int, float)):
        raise TypeError(f"copy_(): argument 'src' must be a Tensor or a number, not {type(src).__name__}")
    _check_overlap(t)
    check_partial_overlap(t, src)
    _check_autograd(t)
    if not _needs_graph(t, src):
        if isinstance(src, util.Tensor):
            src = (src if src._be is t._be else src.to(t.device))._data
        t._be.copy_(writable(t._data), src)  # NOTE: one element of an expanded tensor may be written
        t._vc[0] += 1
        return t
    return _record(t, lambda s: CopyFrom.apply(s, src))


def _complex_name(dtype):
    return {"float64": "ComplexDouble", "float16": "ComplexHalf"}.get(dtype.name, "ComplexFloat")


def _check_fill_value(t, value):
    """PyTorch's errors for a fill_ value that is not a number."""
    if isinstance(value, complex):
        raise RuntimeError(f"value cannot be converted to type {_C_TYPES.get(t._dtype.name, t._dtype.name)} without "
                           "overflow")
    if not isinstance(value, (int, float)):
        bad = type(value).__name__
        raise TypeError(f"fill_() received an invalid combination of arguments - got ({bad}), but expected one of:\n"
                        f" * (Tensor value)\n      didn't match because some of the arguments have invalid types: "
                        f"(!{bad}!)\n * (Number value)\n      didn't match because some of the arguments have "
                        f"invalid types: (!{bad}!)\n")


_C_TYPES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
            "int64": "int64_t", "int32": "int", "int16": "short", "int8": "int8_t", "uint8": "uint8_t", "bool": "bool"}


def fill_(t, value):
    if isinstance(value, util.Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               "dimensions.")
        return copy_(t, value)
    if value.__class__ not in _NUMBER:  # NOTE: zero_() needs no check
        _check_fill_value(t, value)
    _check_autograd(t)  # NOTE: no _check_overlap: PyTorch fills an expanded tensor (every element gets one value)
    if not _needs_graph(t):
        t._be.fill_(writable(t._data), value)
        t._vc[0] += 1
        return t
    return _record(t, lambda s: (Zero if value == 0 else Fill).apply(s, value))


def unary_(t, fn, name, args):
    """t = fn(t) for an elementwise op; `args` its other operands (clamp_'s tensor bounds record history too)."""
    for a in args:  # NOTE: the written-to tensor stays where it is: only a 0-d CPU operand may join it
        if isinstance(a, util.Tensor):
            check_device(t, util.cpu_scalar_to(t, a))
            _check_shape(t, a)
    _check_overlap(t)
    check_partial_overlap(t, *args)
    _check_autograd(t)
    if not _needs_graph(t, *args):
        from ..autograd.grad_mode import no_grad

        with no_grad():
            out = _castable(fn(t), t)
        t._be.copy_(t._data, out._data)
        t._vc[0] += 1
        return t
    return _record(t, lambda s: _castable(fn(s), t).to(t._dtype))


def twin_(t, fn, args):
    """t = fn(t), fn an out-of-place method with its arguments bound and `args` the Tensors among them
    (_inplace_methods.py). fn runs first, since PyTorch parses a call's arguments before its in-place
    checks; every check passes before anything is written."""
    def checked(out):
        for a in args:
            check_device(t, util.cpu_scalar_to(t, a))
        _check_overlap(t)
        check_partial_overlap(t, *args)
        if out.shape != t.shape:  # NOTE: an argument that broadcast self to a larger shape
            raise RuntimeError(f"output with shape {size_str(t.shape)} doesn't match the broadcast shape "
                               f"{size_str(out.shape)}")
        _check_autograd(t)
        return _castable(out, t)

    if not _needs_graph(t, *args):
        from ..autograd.grad_mode import no_grad

        with no_grad():
            out = checked(fn(t))
        t._be.copy_(t._data, out._data)
        t._vc[0] += 1
        return t
    return _record(t, lambda s: checked(fn(s)).to(t._dtype))


def _castable(out, t):
    """`out`, when it may be written into t: PyTorch casts within a category (float32 bounds into a float16 t)."""
    if out._dtype._kind > t._dtype._kind:
        raise RuntimeError(f"result type {_SCALAR_NAMES[out._dtype.name]} can't be cast to the desired output "
                           f"type {_SCALAR_NAMES[t._dtype.name]}")
    return out


def _record(t, fn):
    """Run out-of-place `fn` on a snapshot of t, write the result into t and rebase t's history."""
    if t._multi_view:
        raise multi_view_error(t, False)
    edge(t)  # NOTE: refreshes a stale view's history before we snapshot it
    snap = t._alias()
    snap._vc = [0]
    snap._grad_fn, snap._output_nr, snap._requires_grad = t._grad_fn, t._output_nr, t._requires_grad
    result = fn(snap)
    node = result._grad_fn
    be = t._be
    if node._saved and any(s is not None and s.tensor is snap for s in node._saved):
        snap._data = be.copy_(be.empty(t.shape, t._dtype), t._data)  # the op saved t: keep its old values
    be.copy_(writable(t._data), result._data)
    t._vc[0] += 1
    if t._base is None:
        t._grad_fn, t._output_nr, t._requires_grad = node, result._output_nr, True
    else:
        copy_slices(t, node)
    return t


class CopyFrom(Op):
    """The result of `t.copy_(src)`: src broadcast and cast to t's dtype and device."""

    node_name = "CopyBackwards"
    cpp_node_name = "torch::autograd::CopyBackwards"
    _n_inputs = 2

    @staticmethod
    def forward(t, src):
        be = t._be
        out = be.empty(t.shape, t._dtype)
        if isinstance(src, util.Tensor):
            src = (src if src._be is be else src.to(t.device))._data
        return be.copy_(out, src)

    @staticmethod
    def setup_context(ctx, inputs, out):
        t, src = inputs
        if isinstance(src, util.Tensor):
            ctx.src_shape, ctx.src_dtype, ctx.src_be = src._data.shape, src._dtype, src._be
            ctx.moved, ctx.cast = src._be is not t._be, src._dtype is not t._dtype

    @staticmethod
    def formula(ctx, F, g):
        gs = None
        if ctx.needs_input_grad[1]:
            gs = F.sum_to(g, ctx.src_shape)
            if ctx.moved:
                gs = F.transfer(gs, ctx.src_be)
            if ctx.cast:
                gs = F.astype(gs, ctx.src_dtype)
        return F.zeros_like(g) if ctx.needs_input_grad[0] else None, gs


class Fill(Op):
    node_name = "FillBackward0"
    _n_inputs = 1

    @staticmethod
    def forward(t, value):
        return t._be.full(t.shape, value, t._dtype)

    @staticmethod
    def setup_context(ctx, inputs, out):
        pass

    @staticmethod
    def formula(ctx, F, g):
        return F.zeros_like(g)


provides("zeros_like", lambda a: a._make(a._be.full(a._data.shape, 0, a._dtype)))


class Zero(Fill):
    node_name = "ZeroBackward0"
