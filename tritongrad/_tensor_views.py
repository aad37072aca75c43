"""Tensor's view methods (view, reshape, expand, permute, transpose, indexing, ...): each checks its
arguments, runs the view op (tritongrad/ops/view.py) and links the result to its base
(autograd/views.py). A base class of tensor.Tensor, kept apart so that each file fits in a head.
"""
from . import _args as A, _dtype as dt
from ._tensor_base import TensorBase
from .autograd.views import make_view
from .ops import advanced, view as V
from .ops.util import size_str, wrap_dim, wrap_dims


def _sizes(args, fn="view", name="size", sym=True):
    """Accept f(2, 3), f((2, 3)) and f([2, 3]) as PyTorch does, with its parser's types (tritongrad/_args.py):
    ints and integer tensors of one element as arguments; in a sequence, bools too. `sym`: sizes (SymInts),
    not dims."""
    if len(args) == 1 and args[0].__class__ is not int:
        return A.int_list(args[0], fn, name, sym=sym)
    for s in args:
        if s.__class__ is not int:
            if not sym:
                return A.int_list(args, fn, name)  # NOTE: dims: a one-element integer or bool tensor, a bool, too
            return tuple(A.symint(s, fn, name) for s in args)  # NOTE: item by item, as PyTorch unpacks them
    if not args:
        raise TypeError(f"{fn}() missing 1 required positional arguments: \"{name}\"")
    return args if args.__class__ is tuple else tuple(args)


class TensorViews(TensorBase):
    __slots__ = ()

    # --- views ------------------------------------------------------------------------------------
    def _view_op(self, cls, method, args, *op_args):
        return make_view(self, cls.apply(self, *op_args), method, args)

    def view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], dt.dtype):
            raise NotImplementedError("view(dtype) is not supported by tritongrad")
        shape = V.infer_shape(_sizes(shape), self.numel())
        if self._be.view(self._data, shape) is None:
            raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                               "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return self._view_op(V.View, "view", shape, shape)

    def reshape(self, *shape):
        shape = V.infer_shape(_sizes(shape, "reshape", "shape"), self.numel())
        if self._be.view(self._data, shape) is not None:
            return self._view_op(V.View, "view", shape, shape)
        return V.UnsafeView.apply(self.clone(), shape)

    def ravel(self):
        return self.contiguous().view(-1)  # NOTE: PyTorch's definition, hence its nodes (not reshape's)

    def broadcast_to(self, *size):
        return self.expand(*size)

    def type_as(self, other):
        A.check_tensor(other, "type_as", "other", 1)
        return self.to(other.device, other.dtype)

    # --- metadata PyTorch code reads --------------------------------------------------------------
    def ndimension(self):
        return len(self._data.shape)

    @property
    def itemsize(self):
        return self._dtype.itemsize

    @property
    def nbytes(self):
        return self.numel() * self._dtype.itemsize

    @property
    def is_cpu(self):
        return not self.is_cuda

    def get_device(self):
        return 0 if self.is_cuda else -1  # NOTE: one CUDA device, as tritongrad drives

    def is_complex(self):
        return False  # NOTE: no complex dtypes here

    def is_signed(self):
        return self._dtype.name not in ("bool", "uint8")

    def data_ptr(self):
        """The address of the first element (device memory on CUDA), as PyTorch's."""
        return self._data.data_ptr() if self.is_cuda else self._data.__array_interface__["data"][0]

    def view_as(self, other):
        A.check_tensor(other, "view_as", "other", 1)
        return self.view(other.shape)

    def reshape_as(self, other):
        A.check_tensor(other, "reshape_as", "other", 1)
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if start_dim.__class__ is not int or end_dim.__class__ is not int:
            start_dim = A.index(start_dim, "flatten", "start_dim", 1)
            end_dim = A.index(end_dim, "flatten", "end_dim", 2)
        s, e = wrap_dim(start_dim, self.ndim), wrap_dim(end_dim, self.ndim)  # NOTE: checked for a 0-d tensor too
        if self.ndim == 0:
            return self.reshape(1)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if s == e:
            return self
        shape = self.shape
        n = 1
        for d in shape[s:e + 1]:
            n *= d
        return self.reshape(shape[:s] + (n,) + shape[e + 1:])

    def unflatten(self, dim, sizes):
        if not sizes:  # NOTE: PyTorch's Python wrapper tests this first, before its parser reads the arguments
            raise RuntimeError("unflatten: sizes must be non-empty")
        sizes = A.int_list(sizes, "unflatten", "sizes", 2, sym=True) if sizes.__class__ is not int else A.no_int(
            "unflatten", "sizes", 2)
        dim = wrap_dim(dim, self.ndim, "unflatten")
        sizes = V.infer_shape(sizes, self.shape[dim])
        return self.reshape(self.shape[:dim] + sizes + self.shape[dim + 1:])

    def unsqueeze(self, dim):
        dim = wrap_dim(dim, self.ndim + 1)
        shape = self.shape
        return self._view_op(V.Unsqueeze, "unsqueeze", (dim,), shape[:dim] + (1,) + shape[dim:])

    def squeeze(self, dim=A.UNSET, *more):
        if more:
            dim = (dim, *more)  # NOTE: x.squeeze(0, 1) is x.squeeze((0, 1)), as in PyTorch
            if any(d.__class__ is bool for d in dim):
                raise A.no_overload("squeeze", dim, ("()", "(int dim)", "(tuple of ints dim)"))
        elif dim is None or dim.__class__ is bool:
            raise A.no_overload("squeeze", (dim,), ("()", "(int dim)", "(tuple of ints dim)"))
        elif isinstance(dim, TensorBase):
            dim = A.int_list(dim, "squeeze")
        shape = self.shape
        if dim is A.UNSET:
            return self._view_op(V.Squeeze, "squeeze", (), tuple(s for s in shape if s != 1))
        dims = wrap_dims(dim, self.ndim, "squeeze", repeats_first=True)
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
        cls = V.SqueezeDim if isinstance(dim, int) else V.SqueezeDims  # NOTE: PyTorch's squeeze.dims overload
        return self._view_op(cls, "squeeze", (dim,), new)

    def expand(self, *sizes):
        sizes = _sizes(sizes, "expand")
        shape = self.shape
        if len(sizes) < len(shape):
            raise RuntimeError(f"expand({self.type()}{{{size_str(shape)}}}, size={size_str(sizes)}): the number of "
                               f"sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions "
                               f"in the tensor ({len(shape)})")
        lead = len(sizes) - len(shape)
        out = list(sizes)
        for i in reversed(range(len(shape))):  # NOTE: PyTorch reports the last mismatching dim
            s, want = shape[i], sizes[lead + i]
            if want == -1:
                out[lead + i] = s
            elif want < 0 and s == 1:  # NOTE: PyTorch reports an overflow of numel here
                raise RuntimeError(f"The expanded size of the tensor ({want}) isn't allowed at dimension {lead + i}: "
                                   f"a size is non-negative, or -1 for the existing size ({s})")
            elif s != want and s != 1:
                raise RuntimeError(f"The expanded size of the tensor ({want}) must match the existing size ({s}) at "
                                   f"non-singleton dimension {lead + i}.  Target sizes: {size_str(sizes)}.  "
                                   f"Tensor sizes: {size_str(shape)}")
        for d, s in enumerate(out[:lead]):
            if s < 0:  # NOTE: -1 there is PyTorch's message; below it PyTorch reports an overflow of numel
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, non-existing "
                                   f"dimension {d}")
        return self._expand(tuple(out))

    def _expand(self, shape):
        """expand() to a checked shape (a tuple): what backward formulas call."""
        return self._view_op(V.Expand, "expand", shape, shape)

    def expand_as(self, other):
        A.check_tensor(other, "expand_as", "other", 1)
        return self.expand(other.shape)

    def permute(self, *dims):
        dims = _sizes(dims, "permute", "dims", sym=False)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                               f"length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not "
                               f"equal to len(dims) = {len(dims)}")
        dims = tuple(wrap_dim(d, self.ndim) for d in dims)
        if len(set(dims)) != len(dims):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return self._view_op(V.Permute, "permute", dims, dims)

    def transpose(self, dim0, dim1):
        if dim0.__class__ is not int or dim1.__class__ is not int:
            dim0, dim1 = A.index(dim0, "transpose", "dim0", 1), A.index(dim1, "transpose", "dim1", 2)
        d0, d1 = wrap_dim(dim0, self.ndim), wrap_dim(dim1, self.ndim)
        dims = list(range(self.ndim))
        if dims:  # NOTE: a 0-d tensor's transpose(0, 0) (or -1) is itself, as in PyTorch
            dims[d0], dims[d1] = d1, d0
        return self._view_op(V.Transpose, "transpose", (dim0, dim1), tuple(dims))

    swapaxes = transpose

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self._view_op(V.T, "t", (), tuple(range(self.ndim))[::-1])

    @property
    def T(self):
        return self.permute(tuple(range(self.ndim))[::-1])

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def __getitem__(self, idx):
        if idx.__class__ is not int and idx.__class__ is not slice and advanced.is_advanced(idx):
            return advanced.getitem(self, idx)  # NOTE: index tensors, lists, masks: a copy (ops/advanced.py)
        idx, cls = V.normalize_index(idx, self._data.shape)
        return self._view_op(cls, "__getitem__", (idx,), idx)

    def __setitem__(self, idx, value):
        if idx.__class__ is not int and idx.__class__ is not slice and advanced.is_advanced(idx):
            advanced.setitem(self, idx, value)
            return
        dst = self[idx]
        if isinstance(value, TensorBase) and value.shape != dst.shape:
            # NOTE: as PyTorch: the value's leading size-1 dims are dropped, then it must expand to the target
            shape, k = value.shape, 0
            while k < len(shape) and shape[k] == 1:
                k += 1
            if k:
                value = value.reshape(shape[k:])
            value.detach().expand(dst.shape)  # NOTE: raises PyTorch's message when the value does not fit
        dst.copy_(value)

    def select(self, dim, index):
        if dim.__class__ is not int or index.__class__ is not int:
            dim, index = A.index(dim, "select", "dim", 1), A.symint(index, "select", "index", 2)
        dim = wrap_dim(dim, self.ndim)
        if not -self.shape[dim] <= index < self.shape[dim]:
            raise IndexError(f"select(): index {index} out of range for tensor of size {size_str(self.shape)} at "
                             f"dimension {dim}")
        return self[(slice(None),) * dim + (index,)]
