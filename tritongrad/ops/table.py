"""THE OP TABLE: each built-in op once, its forward (backend primitives) beside its derivative.

The rows live in ops/elementwise.py, reduce.py, linalg.py, view.py, loss.py and inplace.py (one
file per family); this module holds what every row is made with (Op, unary, fused, provides) and
the F composites.

How to add an op: four places (gelu, a unary op with a fused backward kernel, was added so):

1. Its row, in the ops/ file of its family: forward and derivative together, the derivative in
   the F vocabulary (below). A unary op and its fused backward primitive's own derivative
   (d/dg, d/dx, for double backward), in ops/elementwise.py:

       Gelu = unary("gelu", "GeluBackward0", "x", lambda F, g, x, y: F.gelu_backward(g, x))
       GeluBackward = fused("gelu_backward", "GeluBackwardBackward0",
                            lambda F, gg, g, x: (F.gelu_backward(gg, x), F.mul(F.mul(gg, g), _gelu2(F, x))))

   unary(name, node name, what the derivative reads: "" / "x" / "y" / "xy", derivative(F, g, x, y));
   fused(primitive, node name, derivative(F, gg, *its tensor inputs, *its parameters) -> one
   gradient per tensor input). Any other op is a class (see Mul): `forward(*args)` returns backend
   arrays, `setup_context(ctx, inputs, out)` saves what the derivative reads (`_save_output = True`
   saves the output too), `formula(ctx, F, g)` returns one gradient per input (None: none), and
   `primitive = "name"` if it is F.name on Tensors.
2. Its primitives: rows of tritongrad/backends/primitives.py with their NumPy implementation (the
   CPU backend), e.g. Prim("gelu", U, 1, "float", numpy=_gelu) and
   Prim("gelu_backward", BWD, 2, "float", "gelu", numpy=_gelu_backward).
3. Its Triton kernel branches, in kernels/pointwise.py: `elif OP == "gelu":` in `_unary_op` (and
   `_binary_op` for a binary row) and in `_backward_op` for a fused backward row. The kernels'
   op sets and the CUDA binding are built from the primitive list. An op that is not elementwise
   (a "method" row: e.g. a row-wise norm) has its kernel file in kernels/ instead, and its row
   names its launch wrapper, `triton="layernorm.layer_norm_fwd"`, beside `numpy=`: both backends
   take them from the row, so the op still touches only these places.
4. Its public name, if new: a Tensor method in _tensor_math.py (`def log1p(self): return
   self._float_unary(EW.Log1p)`) and its name in functional.py's _METHODS for `tritongrad.log1p`,
   or `tritongrad.nn.functional.<name>` (nn/functional.py: `from ..ops.elementwise import gelu`).

Tests: a case in tests/test_formulas.py's CASES (float64 finite differences, first and second
order, both devices; test_the_cases_reach_every_row_of_the_op_table fails until there is one), and
for a fused backward row its parameters in tests/helpers.py's BACKWARD_PARAMS
(tests/test_primitives.py then compares the NumPy and Triton implementations).

The vocabulary F: every row of the primitive list by its name (`F.mul(a, b)`, `F.exp(a)`,
`F.sum(a, dims, keepdim)`, `F.sigmoid_backward(g, y)`, `F.view(a, shape)`, `F.matmul(a, b)`, ...);
`F.saved(ctx)` (the saved tensors, version-checked); `F.const(array, like)` (an array the op kept,
as an operand beside `like`); `F.zeros(like, shape)`, `F.zeros_like`, `F.transfer` (ToCopy's device change); and the
composites below (`F.sum_to`, `F.t`, `F.reshape`). One formula runs on Tensors (`TENSOR_F`: each
name is the op whose forward is that primitive, so create_graph records it and higher orders work)
and on raw backend arrays (ops/formulas.py's ARRAYS: each name is the backend's primitive itself).

Data flow of `y = x.mm(w)`: Tensor.mm (_tensor_math.py) -> ops.linalg.mm checks shapes and dtypes
-> `Mm.apply(x, w)` (autograd/function.py's apply for built-ins) -> `Mm.forward`:
`backend.matmul(x._data, w._data)` (NumPy's matmul, or kernels/matmul.py on CUDA) -> if x or w
requires grad, an `MmBackward0` node (it is the ctx) gets the edges to x's and w's grad_fn or
AccumulateGrad and `setup_context` saves x and w with their versions -> `x._make(out)`, whose
`grad_fn` is the node.

Data flow of `loss.backward()`: autograd/engine.py's backward -> one pass over the graph, newest
node first (PyTorch's order) -> each built-in op's node runs `node._formula(F, g)` with F =
ARRAYS[g.__class__] (arrays in, arrays out; Mm's formula: `F.matmul(g, F.t(b))`, a transposed
view, no copy) -> a leaf's gradient reaches its AccumulateGrad, which sets `.grad` -> saved tensors
are freed as each node finishes (unless retain_graph). With create_graph=True, or a node with
hooks, the same formula runs on Tensors (the op's `backward` is formula(ctx, TENSOR_F, g)).
"""
from functools import partial

from ..autograd.function import Function
from ..autograd.saved_attrs import expose
from ..backends.primitives import BY_NAME
from .util import sum_dims

_TENSOR_OPS = {}  # F name -> the function on Tensors (see TENSOR_F)
ROWS = []  # every op of the table, in definition order (tests/test_formulas.py covers each)


def provides(name, fn):
    """Register `fn(*args)` as the Tensor implementation of F.<name> (a differentiable op)."""
    if name in _TENSOR_OPS:
        raise ValueError(f"F.{name} is provided twice")
    _TENSOR_OPS[name] = fn
    return fn


class Op(Function):
    """A built-in op (a row of the op table): `forward(*args)` returns backend arrays,
    `setup_context(ctx, inputs, out)` saves what the derivative needs (called only when a graph is
    recorded), `formula(ctx, F, *grads)` is the derivative in the F vocabulary.

    `primitive = "name"` on a row makes its apply the Tensor implementation of F.<name>.
    """

    _builtin = True
    saved_as = {}  # PyTorch's `_saved_<name>` attributes of the node: what the row keeps (autograd/saved_attrs.py)

    def __init_subclass__(cls, **kwargs):
        formula = cls.__dict__.get("formula")
        if formula is not None:
            formula = formula.__func__ if isinstance(formula, staticmethod) else formula

            def backward(ctx, *grads):
                return formula(ctx, TENSOR_F, *grads)

            cls.backward = staticmethod(backward)
        super().__init_subclass__(**kwargs)
        expose(cls._backward_cls, cls.saved_as)
        ROWS.append(cls)
        if "primitive" in cls.__dict__:
            provides(cls.primitive, cls.apply)


def unary(name, node_name, saves="", derivative=None):
    """The op `y = name(x)` of unary primitive `name`; `saves` says what `derivative(F, g, x, y)`
    reads: "" (neither: both None), "x", "y" or "xy"."""
    save_x, save_y = "x" in saves, "y" in saves

    def forward(a):
        return a._be.unary(name, a._data)

    def setup_context(ctx, inputs, out):
        if save_x:
            ctx.save_for_backward(inputs[0])

    def formula(ctx, F, g):
        saved = F.saved(ctx) if saves else None
        return derivative(F, g, saved[0] if save_x else None, saved[-1] if save_y else None)

    saved_as = {**({"self": 0} if save_x else {}), **({"result": -1} if save_y else {})}
    return type(_camel(name), (Op,), {
        "node_name": node_name, "_save_output": save_y, "_n_inputs": 1, "primitive": name, "saved_as": saved_as,
        "forward": staticmethod(forward), "setup_context": staticmethod(setup_context),
        "formula": staticmethod(formula), "__module__": _caller_module()})


def fused(name, node_name, derivative):
    """The op of a fused backward primitive `name` (a row of the primitive list with `backward_of`):
    forward is `backend.<name>(*arrays, *params)` for its `arity` tensor inputs (all saved) and
    then its Python parameters; `derivative(F, gg, *inputs, *params)` returns one gradient per
    tensor input (None: zero)."""
    n = BY_NAME[name].arity

    def forward(*args):
        x = args[0]
        return getattr(x._be, name)(*[t._data for t in args[:n]], *args[n:])

    def setup_context(ctx, inputs, out):
        ctx.save_for_backward(*inputs[:n])
        ctx.params = inputs[n:]

    def formula(ctx, F, gg):
        grads = derivative(F, gg, *F.saved(ctx), *ctx.params)
        return tuple(g if need else None for g, need in zip(grads, ctx.needs_input_grad))

    return type(_camel(name), (Op,), {
        "node_name": node_name, "_n_inputs": n, "primitive": name, "forward": staticmethod(forward),
        "setup_context": staticmethod(setup_context), "formula": staticmethod(formula),
        "__module__": _caller_module()})


def _camel(name):
    return "".join(w.capitalize() for w in name.split("_"))


def _caller_module():
    import sys

    return sys._getframe(2).f_globals["__name__"]


# --- composites: written once in F, for both adapters ------------------------------------------------
def sum_to(F, g, shape):
    """Sum gradient `g` over the dims broadcasting added, so that it has `shape`."""
    if g.shape == shape:
        return g
    dims, lead = sum_dims(g.shape, shape)
    if dims:
        g = F.sum(g, dims, True)
    return F.view(g, shape) if lead else g


def t(F, a):
    return F.permute(a, (1, 0))


def reshape(F, a, shape):
    """`a` as `shape`: a view when the strides allow one, else a contiguous copy's."""
    return F.view(F.contiguous(a), shape) if not F.is_contiguous(a) else F.view(a, shape)


COMPOSITES = {"sum_to": sum_to, "t": t, "reshape": reshape}


class _TensorF:
    """F on Tensors: F.<name> is the op registered for that name (`provides`, `Op.primitive`).

    NOTE: filled on first use of each name, then a plain attribute. Every row has registered by then:
    an op's module is loaded before the op runs. `saved` and `const` say how a formula reads what
    its op kept.
    """

    @staticmethod
    def saved(ctx):
        return ctx._unpacked()

    @staticmethod
    def zeros(like, shape):
        """Zeros of `shape` with Tensor `like`'s dtype and device (no history)."""
        return like._make(like._be.full(shape, 0, like._dtype))

    @staticmethod
    def const(a, like):
        """A backend array an op kept (a mask, a count) as an operand (no gradient) beside Tensor `like`."""
        return like._make(a)

    def __getattr__(self, name):
        if name in COMPOSITES:
            fn = partial(COMPOSITES[name], self)
        elif name in _TENSOR_OPS:
            fn = _TENSOR_OPS[name]
        else:
            raise AttributeError(f"F.{name}: no op provides it on Tensors (see ops/table.py)")
        setattr(self, name, fn)
        return fn


TENSOR_F = _TensorF()
