"""THE OP TABLE: each built-in op once, its forward (backend primitives) beside its derivative.

The rows live in ops/elementwise.py, reduce.py, linalg.py, view.py, loss.py and inplace.py (one
file per family); this module holds what every row is made with.

How to add an op (a unary op with a fused backward kernel, e.g. gelu; see Gelu in elementwise.py):

1. Its row, in the ops/ file of its family: the forward on backend primitives and the derivative
   in the `F` vocabulary (the primitive list's names, below), next to each other, e.g.

       Exp = unary("exp", "ExpBackward0", "y", lambda F, g, x, y: F.mul(g, y))

   and for a fused backward primitive, its own derivative (for double backward), e.g.

       SigmoidBackward = fused("sigmoid_backward", "SigmoidBackwardBackward0",
                               lambda F, gg, g, y: (F.sigmoid_backward(gg, y), ...))

   An op that is not a plain unary is a class: `forward(*args)` returns backend arrays,
   `setup_context(ctx, inputs, out)` saves what the derivative reads, `formula(ctx, F, g)` returns
   one gradient per input (None: no gradient). See Mul in elementwise.py.
2. Its primitive(s): a row of tritongrad/backends/primitives.py (name, kind, arity, dtype rule,
   which op it is the fused backward of) with its NumPy implementation, which is the CPU backend's.
3. Its Triton kernel branch: `_unary_op` / `_binary_op` / `pointwise_bwd_kernel` in
   kernels/elementwise.py (the kernels' op sets and the CUDA binding come from the primitive list).
4. Its public name, if new: a Tensor method (_tensor_math.py), `tritongrad.<name>`
   (functional.py), or `tritongrad.nn.functional.<name>`.

Then add its case to tests/test_formulas.py (float64 finite differences, both devices).

The formula vocabulary F: every row of the primitive list (`F.mul(a, b)`, `F.exp(a)`,
`F.sum(a, dims, keepdim)`, `F.sigmoid_backward(g, y)`, `F.view(a, shape)`, `F.matmul(a, b)`, ...)
plus `F.saved(ctx)` (the saved tensors, version-checked), `F.const(array)` (an array the op kept,
as an operand), and the composites of ops/formulas.py (`F.sum_to`, `F.t`, `F.reshape`). The same
formula runs on Tensors (`TENSOR_F` below: each name is the op whose forward is that primitive, so
create_graph records it and higher orders work) and on raw backend arrays (formulas.ARRAYS: each
name is the backend's primitive itself; the engine's plain backward).

Data flow of `y = x.mm(w)`: Tensor.mm (_tensor_math.py) checks shapes -> `Mm.apply(x, w)`
(`Function`'s apply for built-ins, autograd/function.py) -> `Mm.forward`: `backend.matmul(x._data,
w._data)` (NumPy's matmul, or kernels/matmul.py on CUDA) -> when x or w requires grad, an
`MmBackward0` node (the ctx) gets the edges to x's and w's grad_fn / AccumulateGrad, and
`setup_context` saves x and w with their versions -> `Tensor._make(out)` with `grad_fn` = the node.

Data flow of `loss.backward()`: engine.backward -> one pass over the graph, newest node first
(PyTorch's order) -> each node of a built-in op runs `node._formula(F, g)` with F =
formulas.ARRAYS[g.__class__] (arrays in, arrays out; `Mm`'s formula: `F.matmul(g, F.t(b))`, a
transposed view, no copy) -> gradients of a leaf reach its AccumulateGrad, which sets `.grad` ->
saved tensors are freed as each node finishes (unless retain_graph). With create_graph=True, or a
node with hooks, the same formula runs on Tensors (`backward` = formula(ctx, TENSOR_F, g)).
"""
from ..autograd.function import Function
from ..backends.primitives import BY_NAME

_TENSOR_OPS = {}  # F name -> the function on Tensors (see TENSOR_F)


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

    def __init_subclass__(cls, **kwargs):
        formula = cls.__dict__.get("formula")
        if formula is not None:
            formula = formula.__func__ if isinstance(formula, staticmethod) else formula

            def backward(ctx, *grads):
                return formula(ctx, TENSOR_F, *grads)

            cls.backward = staticmethod(backward)
        super().__init_subclass__(**kwargs)
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

    return type(name.capitalize(), (Op,), {
        "node_name": node_name, "_save_output": save_y, "_n_inputs": 1, "primitive": name,
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

    cls_name = "".join(w.capitalize() for w in name.split("_"))
    return type(cls_name, (Op,), {
        "node_name": node_name, "_n_inputs": n, "primitive": name, "forward": staticmethod(forward),
        "setup_context": staticmethod(setup_context), "formula": staticmethod(formula),
        "__module__": _caller_module()})


def _caller_module():
    import sys

    return sys._getframe(2).f_globals["__name__"]


class _TensorF:
    """F on Tensors: F.<name> is the op registered for that name (`provides`, `Op.primitive`).

    NOTE: filled on first use of each name (the rows register as their modules load), then a plain
    attribute. `saved` and `const` say how a formula reads what its op kept.
    """

    @staticmethod
    def saved(ctx):
        return ctx.saved_tensors

    @staticmethod
    def const(a):
        """A backend array an op kept (a mask, a count) as a Tensor operand (no gradient)."""
        from ..tensor import Tensor  # NOTE: a Tensor from an array; the one upward step, at run time

        return Tensor._make(a)

    def __getattr__(self, name):
        from . import formulas  # NOTE: loads every row and the composites

        fn = formulas.tensor_function(self, name)
        setattr(self, name, fn)
        return fn


TENSOR_F = _TensorF()
