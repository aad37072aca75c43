"""Tensor methods of the math ops (ops/math.py, stats.py, sort.py, contract.py): argument checks with
PyTorch's messages, then one op each. A base class of Tensor beside TensorMath; FUNCTIONS lists
the ones tritongrad also offers as `tritongrad.<name>(x, ...)`.
"""
from collections import namedtuple
from functools import wraps

from . import _args as A, _dtype as dt, _signatures as SG
from .ops import contract, math as M, random as RND, reduce as RD, sort as S, stats as ST
from .ops.inplace import _SCALAR_NAMES
from .ops.util import operands, wrap_dim, wrap_dims

_SORT = namedtuple("sort", ["values", "indices"])
_TOPK = namedtuple("topk", ["values", "indices"])
_FLOAT_MAX = {"float32": 3.4028234663852886e38, "float64": 1.7976931348623157e308, "float16": 65504.0,
              "bfloat16": 3.3895313892515355e38}  # nan_to_num's default replacements of +-inf


def numpy_names(fn):
    """Accept NumPy's spellings of the keywords (keepdims, axis), as PyTorch's argument parser does."""

    @wraps(fn)
    def wrapper(self, *args, **kwargs):
        if "keepdims" in kwargs or "axis" in kwargs:
            u = A.UNSET
            kwargs["dim"], kwargs["keepdim"] = SG.numpy_spellings(
                fn.__name__, kwargs.pop("dim", u), kwargs.pop("keepdim", u), kwargs.pop("axis", u),
                kwargs.pop("keepdims", u))
            for name in ("dim", "keepdim"):  # NOTE: a spelling not given stays the method's default
                if kwargs[name] is u:
                    del kwargs[name]
        return fn(self, *args, **kwargs)

    return wrapper


def _integer_as(out, dtype):
    """out in the integer dtype asked for: the backends multiply and add integers in int64 (NumPy's and the
    CUDA kernels' rule), where PyTorch wraps around in the narrower type it was given."""
    return out if dtype is None or out._dtype is dtype or dtype._kind == 2 else out.to(dtype)


def _not_implemented(name, t):
    return NotImplementedError(f'"{name}_{t.device.type}" not implemented for \'{_SCALAR_NAMES[t._dtype.name]}\'')


def _no_bool(op, t):
    """PyTorch's rounding kernels have no bool version (integers are returned as they are)."""
    if t._dtype is dt.bool_:
        kernel = (op.rstrip("_") + ("_cpu" if op.endswith("_") else "_vml_cpu")) if t.device.type == "cpu" else (
            op.rstrip("_") + "_cuda")
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def _float(t):
    """t, or t as the default float dtype when it is an integer or bool tensor (PyTorch's promotion)."""
    return t if t._dtype.is_floating_point else t.to(dt.get_default_dtype())


def reduce_dims(t, dim, fn=None):
    """The dims of a reduction over `dim` (None, an int or a sequence) as a sorted tuple, () meaning all:
    checked against t's rank (a 0-d tensor takes 0 and -1, as PyTorch), then () for a 0-d tensor."""
    dims = wrap_dims(dim, t.ndim, fn)
    return dims if t.ndim else ()


class MathMethods:
    __slots__ = ()

    # --- elementwise ------------------------------------------------------------------------------
    def tan(self):
        return M.Tan.apply(_float(self))

    def asin(self):
        return M.Asin.apply(_float(self))

    def acos(self):
        return M.Acos.apply(_float(self))

    def atan(self):
        return M.Atan.apply(_float(self))

    def sinh(self):
        return M.Sinh.apply(_float(self))

    def cosh(self):
        return M.Cosh.apply(_float(self))

    def log2(self):
        return M.Log2.apply(_float(self))

    def log10(self):
        return M.Log10.apply(_float(self))

    def exp2(self):
        return M.Exp2.apply(_float(self))

    def rsqrt(self):
        return M.Rsqrt.apply(_float(self))

    def erf(self):
        return M.Erf.apply(_float(self))

    arcsin, arccos, arctan = asin, acos, atan

    def floor(self):
        _no_bool("floor", self)
        return M.Floor.apply(self)

    def ceil(self):
        _no_bool("ceil", self)
        return M.Ceil.apply(self)

    def trunc(self):
        _no_bool("trunc", self)
        return M.Trunc.apply(self)

    fix = trunc

    def round(self, *, decimals=None):
        if decimals is None:  # NOTE: decimals given, even 0, is PyTorch's other overload (RoundBackward1)
            _no_bool("round", self)
            return M.Round.apply(self)
        if not isinstance(decimals, int) or isinstance(decimals, bool):
            raise TypeError("round() received an invalid combination of arguments - got "
                            f"(decimals={type(decimals).__name__}), but expected (*, int decimals)")
        if not self._dtype.is_floating_point:
            # NOTE: PyTorch's CPU kernel names: decimals=0 runs plain round's (vml), others round_decimals'
            raise _not_implemented("round_vml" if decimals == 0 and self.device.type == "cpu" else "round", self)
        return M.RoundDecimals.apply(self, decimals)

    def frac(self):
        if not self._dtype.is_floating_point:
            raise _not_implemented("frac", self)
        return M.Frac.apply(self)

    def atan2(self, other):
        A.check_tensor(other, "atan2", "other", 1)
        a, b, _ = operands(self, other, float_only=True)
        return M.Atan2.apply(a, b)

    arctan2 = atan2

    def lerp(self, end, weight):
        A.check_tensor(end, "lerp", "end", 1)
        if not isinstance(weight, (int, float, A.TensorBase)):
            A.check_tensor(weight, "lerp", "weight", 2)
        if not self._dtype.is_floating_point:  # NOTE: PyTorch's kernels are floating-point only (checked first)
            tensor_w = isinstance(weight, A.TensorBase)
            rt = dt.promote_types(self._dtype, weight._dtype) if tensor_w else self._dtype
            raise NotImplementedError(f"\"lerp_kernel_{'tensor' if tensor_w else 'scalar'}\" not implemented for "
                                      f"'{A.scalar_name(rt)}'")
        return M.lerp(self, end, weight)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        # NOTE: read as Python floats first, as PyTorch's parser does (a 0-d tensor on any device is a number)
        nan, posinf, neginf = (None if v is None else SG.float_arg(v, "nan_to_num", k)
                               for k, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)))
        nan = 0.0 if nan is None else nan
        if not self._dtype.is_floating_point:
            return self.clone()
        big = _FLOAT_MAX[self._dtype.name]
        return M.NanToNum.apply(self, nan, big if posinf is None else posinf, -big if neginf is None else neginf)

    def _test(self, op, int_value):
        if self._dtype.is_floating_point:
            return self._make(self._be.unary(op, self._data))
        return self._make(self._be.full(self._data.shape, int_value, dt.bool_))

    def isnan(self):
        return self._test("isnan", False)

    def isinf(self):
        return self._test("isinf", False)

    def isfinite(self):
        return self._test("isfinite", True)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        SG.close_args("isclose", other, rtol, atol, equal_nan)
        if self._dtype is not other._dtype:
            raise RuntimeError(f"{_SCALAR_NAMES[self._dtype.name]} did not match {_SCALAR_NAMES[other._dtype.name]}")
        rtol, atol = float(rtol), float(atol)  # NOTE: as PyTorch's parser reads them (a 0-d tensor is a number)
        for name, tol in (("rtol", rtol), ("atol", atol)):
            if not tol >= 0:
                raise RuntimeError(f"{name} must be greater than or equal to zero, but got {tol:g}")
        close = self.eq(other)
        a, b = self.detach(), other.detach()  # NOTE: PyTorch's formula, step for step
        if not self._dtype.is_floating_point:
            a, b = a.double(), b.double()  # NOTE: integers too are compared with the tolerances, without wrapping
        elif equal_nan:
            close = close | (a.isnan() & b.isnan())
        err = (a - b).abs()
        return close | (err.isfinite() & (err <= (b * rtol).abs() + atol))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        SG.close_args("allclose", other, rtol, atol, equal_nan)
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    # --- bitwise: integers and bool (`&`, `|`, `^`) -----------------------------------------------
    def _bitwise(self, op, other):
        a, b, arr = operands(self, other)
        if a._dtype.is_floating_point:
            raise _not_implemented(op, a)
        return a._make(a._be.binary(op, a._data, arr))

    def bitwise_and(self, other):
        return self._bitwise("bitwise_and", other)

    def bitwise_or(self, other):
        return self._bitwise("bitwise_or", other)

    def bitwise_xor(self, other):
        return self._bitwise("bitwise_xor", other)

    __xor__ = __rxor__ = bitwise_xor

    # --- reductions -------------------------------------------------------------------------------
    @numpy_names
    def amax(self, dim=(), keepdim=False):
        return self._amax(RD.Amax, dim, keepdim)

    @numpy_names
    def amin(self, dim=(), keepdim=False):
        return self._amax(RD.Amin, dim, keepdim)

    def _amax(self, cls, dim, keepdim):
        name = cls._op
        if getattr(dim, "ndim", None) == 0 and not dim.dtype.is_floating_point:
            dim = int(dim)  # NOTE: a 0-d integer tensor reads as an int (PyTorch's __index__)
        if not isinstance(dim, int) and not (isinstance(dim, (tuple, list)) and all(isinstance(d, int) for d in dim)):
            raise TypeError(f"{name}(): argument 'dim' (position 1) must be tuple of ints, not {type(dim).__name__}")
        if not isinstance(keepdim, bool):
            raise TypeError(f"{name}(): argument 'keepdim' (position 2) must be bool, not {type(keepdim).__name__}")
        for d in (dim,) if isinstance(dim, int) else dim:
            wrap_dim(d, max(self.ndim, 1))  # NOTE: a 0-d tensor takes dim 0 or -1
        dims = wrap_dims(dim, self.ndim) if self.ndim and dim != () else ()
        if not dims and self.numel() == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
                             "the reduction dim with the 'dim' argument.")
        for given in ((dim,) if isinstance(dim, int) else dim) if dims else ():  # NOTE: named as given (PyTorch)
            if self.shape[wrap_dim(given, self.ndim)] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {given} to have non-zero size.")
        return cls.apply(self, dims or tuple(range(self.ndim)), keepdim)

    @numpy_names
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return self._var(ST.Var, dim, unbiased, keepdim, correction)

    @numpy_names
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return self._var(ST.Std, dim, unbiased, keepdim, correction)

    def _var(self, cls, dim, unbiased, keepdim, correction):
        dim, unbiased = SG.var_args("std" if cls is ST.Std else "var", dim, unbiased, keepdim, correction)
        if not self._dtype.is_floating_point:
            raise RuntimeError("std and var only support floating point and complex dtypes")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        return cls.apply(self, reduce_dims(self, dim), correction, keepdim)

    @numpy_names
    def logsumexp(self, dim, keepdim=False):
        if keepdim.__class__ is not bool:
            A.check_bool(keepdim, "logsumexp")
        if dim.__class__ is not int:
            dim = A.int_list(dim, "logsumexp")  # NOTE: None too is refused (PyTorch's dim has no default here)
        return ST.LogSumExp.apply(_float(self), reduce_dims(self, dim), keepdim)

    @numpy_names
    def prod(self, dim=A.UNSET, keepdim=A.UNSET, *, dtype=None):
        if dim.__class__ is not int or keepdim.__class__ is not bool or dtype is not None:
            dim, keepdim = SG.prod_args(dim, keepdim, dtype)
        if dtype is None and self._dtype._kind < 2:
            dtype = dt.int64  # NOTE: PyTorch multiplies bool and integer tensors as int64
        x = self if dtype is None or dtype is self._dtype else self.to(dtype)
        if dim is None:
            return _integer_as(ST.Prod.apply(x, (), False), dtype)
        dim = wrap_dim(dim, x.ndim)
        return _integer_as(ST.ProdDim.apply(x, (dim,) if x.ndim else (), keepdim), dtype)

    @numpy_names
    def cumsum(self, dim, *, dtype=None):
        A.check_dtype(dtype, "cumsum")
        x = self if dtype is None or dtype is self._dtype else self.to(dtype)
        return _integer_as(ST.Cumsum.apply(x, wrap_dim(dim, x.ndim, "cumsum")), dtype)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):  # NOTE: no axis=, as PyTorch's
        from .linalg import vector_norm

        if p is not None and not isinstance(p, (str, int, float, A.TensorBase)):
            raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not {A.type_name(p)}")
        if keepdim.__class__ is not bool:
            A.check_bool(keepdim, "linalg_vector_norm", "keepdim", 4)
        if dim is not None and dim.__class__ is not int:
            dim = A.int_list(dim, "linalg_vector_norm")
        if isinstance(p, A.TensorBase) and not p.ndim:
            p = p.item()  # NOTE: PyTorch's parser reads a 0-d tensor as a Number
        if not self.numel() and dim is None and isinstance(p, (int, float)) and (p < 0 or p == float("inf")):
            raise RuntimeError(f"linalg.vector_norm cannot compute the {p} norm on an empty tensor because the "
                               "operation does not have an identity")
        if p == "nuc":
            from .linalg import matrix_norm

            return matrix_norm(self, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
        if isinstance(p, str) and p != "fro":
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
        return vector_norm(self, 2 if p == "fro" else p, dim, keepdim, dtype=dtype)

    # --- sorting ----------------------------------------------------------------------------------
    @numpy_names
    def sort(self, dim=-1, descending=False, stable=False):
        if dim.__class__ is not int or descending.__class__ is not bool or stable.__class__ is not bool:
            dim, descending = SG.sort_args("sort", dim, descending, stable)
        dim = wrap_dim(dim, self.ndim)
        values, indices = (S.SortStable if stable else S.Sort).apply(self, dim, descending)
        return _SORT(values, indices)

    @numpy_names
    def argsort(self, dim=-1, descending=False, stable=False):
        if dim.__class__ is not int or descending.__class__ is not bool or stable.__class__ is not bool:
            dim, descending = SG.sort_args("argsort", dim, descending, stable)
        return self.detach().sort(dim, descending, stable).indices

    def topk(self, k, dim=-1, largest=True, sorted=True):
        if dim.__class__ is not int:
            dim = A.index(dim, "topk", "dim", 2)
        if largest.__class__ is not bool or sorted.__class__ is not bool:
            A.check_bool(largest, "topk", "largest", 3)
            A.check_bool(sorted, "topk", "sorted", 4)
        if k.__class__ is not int:
            k = A.symint(k, "topk", "k", 1)  # NOTE: after the TypeErrors: a bool tensor's RuntimeError is later
        dim = wrap_dim(dim, self.ndim)
        n = self.shape[dim] if self.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError("selected index k out of range")
        values, indices = S.Topk.apply(self, dim, largest, k)
        return _TOPK(values, indices)

    # --- softmax and products ---------------------------------------------------------------------
    @numpy_names
    def softmax(self, dim, dtype=None):
        from .nn.functional import softmax

        SG.softmax_args("softmax", dim, dtype)  # NOTE: no None dim here (F.softmax takes it: an implicit dim)
        return softmax(self, dim, dtype=dtype)

    @numpy_names
    def log_softmax(self, dim, dtype=None):
        from .nn.functional import log_softmax

        SG.softmax_args("log_softmax", dim, dtype)
        return log_softmax(self, dim, dtype=dtype)

    def dot(self, other):
        A.check_tensor(other, "dot", "tensor", 1)
        return contract.dot(self, other)

    def mv(self, vec):
        A.check_tensor(vec, "mv", "vec", 1)
        if not self.ndim:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        return contract.mv(self, vec)

    def bmm(self, mat2):
        A.check_tensor(mat2, "bmm", "mat2", 1)
        return contract.bmm(self, mat2)

    def outer(self, vec2):
        A.check_tensor(vec2, "outer", "vec2", 1)
        return contract.outer(self, vec2)

    ger = outer

    # --- random (ops/random.py): the device's generator, or generator= ----------------------------
    def uniform_(self, from_=0.0, to=1.0, *, generator=None, **kw):
        return RND.uniform_(self, kw.get("from", from_), to, generator)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return RND.normal_(self, mean, std, generator)

    def random_(self, from_=0, to=None, *, generator=None, **kw):
        return RND.random_(self, kw.get("from", from_), to, generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        return RND.exponential_(self, lambd, generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        return RND.bernoulli_(self, p, generator)

    def bernoulli(self, p=None, *, generator=None):
        return RND.bernoulli(self, p, generator=generator)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return RND.multinomial(self, num_samples, replacement, generator=generator)

    # --- composites, as PyTorch defines them (so their nodes are PyTorch's too) ------------------------
    def logical_xor(self, other):
        A.check_tensor(other, "logical_xor", "other", 1)
        return self.bool().ne(other.bool())  # NOTE: on bools, xor is !=

    def count_nonzero(self, *dims, dim=A.UNSET):
        if dims:  # NOTE: PyTorch's parser: count_nonzero(0), count_nonzero(0, 1), count_nonzero((0, 1))
            if dim is not A.UNSET:
                raise TypeError("count_nonzero() received an invalid combination of arguments: dims given both "
                                "by position and as dim=")
            dims = tuple(int(d.item()) if isinstance(d, A.TensorBase) and d._dtype._kind < 2 and d.numel() == 1
                         else d for d in dims)  # NOTE: by position, one-element integer (bool) tensors are ints
            dim = dims[0] if len(dims) == 1 else dims
        if dim is not A.UNSET and dim is not None:  # NOTE: ints (0-d integer tensors too), not bools
            dim = tuple(A.index(d, "count_nonzero") for d in dim) if isinstance(dim, (tuple, list)) else A.index(
                dim, "count_nonzero")
        return self.ne(0).sum(None if dim is A.UNSET else dim)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        """torch.diff: n-th forward differences along dim (xor for bool), prepend / append joined first."""
        if n.__class__ is not int or dim.__class__ is not int:
            n, dim = A.index(n, "diff", "n", 1), A.index(dim, "diff", "dim", 2)
        for pos, extra in ((3, prepend), (4, append)):
            if extra is not None:
                A.check_tensor(extra, "diff", "prepend" if pos == 3 else "append", pos)
        if self.ndim == 0:
            raise RuntimeError("diff expects input to be at least one-dimensional")
        if n < 0:
            raise RuntimeError(f"order must be non-negative but got {n}")
        parts = [self]
        for i, extra in ((0, prepend), (2, append)):
            if extra is None:
                continue
            wrapped = wrap_dim(dim, self.ndim)
            if extra.ndim != self.ndim:
                raise RuntimeError("diff expects prepend or append to be the same dimension as input")
            for d in range(self.ndim):
                if d != wrapped and extra.shape[d] != self.shape[d]:
                    raise RuntimeError(f"diff expects the shape of tensor to prepend or append to match that of "
                                       f"input except along the differencing dimension; input.size({d}) = "
                                       f"{self.shape[d]}, but got tensor.size({d}) = {extra.shape[d]}")
            parts.insert(i, extra)
        if n == 0:  # NOTE: PyTorch's copy of the input (CopyBackwards), whatever prepend / append, dim unread
            return self.new_zeros(self.shape).copy_(self)
        from ._tensor_join import cat

        dim = wrap_dim(dim, self.ndim)
        out = cat(parts, dim) if len(parts) > 1 else self
        if out.shape[dim] == 0:
            return out.detach().clone()  # NOTE: PyTorch's result here records no history
        for _ in range(n):
            length = out.shape[dim]
            if length == 0:
                break
            a, b = out.narrow(dim, 1, length - 1), out.narrow(dim, 0, length - 1)
            out = a.logical_xor(b) if out.dtype is dt.bool_ else a - b
        return out


FUNCTIONS = ("tan asin acos atan sinh cosh log2 log10 exp2 rsqrt erf arcsin arccos arctan floor ceil trunc fix "
             "round frac atan2 arctan2 lerp nan_to_num isnan isinf isfinite isclose allclose bitwise_and bitwise_or "
             "bitwise_xor amax amin var std logsumexp prod cumsum norm sort argsort topk softmax log_softmax dot mv "
             "bmm outer ger logical_xor diff").split()


def einsum(equation=None, *operands):
    """torch.einsum (see ops/contract.py)."""
    return contract.einsum(equation, *operands)

