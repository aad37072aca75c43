"""Tensor: a backend array (NumPy on the CPU, DeviceArray on CUDA) plus autograd metadata.

Its methods check arguments and call ops (tritongrad/ops); the math lives there.
"""
import warnings
from weakref import ref as _weakref

import numpy as np

from . import _dtype as dt
from ._device import CPU, CUDA0, parse_device
from ._inplace_methods import InplaceMethods
from ._math_methods import MathMethods
from ._tensor_index import TensorIndexing
from ._tensor_math import TensorMath
from ._tensor_views import TensorViews, _sizes
from .autograd import engine, grad_mode
from .autograd.graph import AccumulateGrad, _Hooks
from .backends import get as _get_backend
from .backends.cpu import CPUBackend, _np as _np_dtype
from .cuda.array import DeviceArray
from .ops import formulas, view as V
from .ops.util import size_str, wrap_dim

_ndarray = np.ndarray
_FROM_NP = dt._FROM_NP
_new = object.__new__
_state = grad_mode.state
_shared = grad_mode.shared

NONLEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be "
    "populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf "
    "Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure "
    "you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more information.")
ONLY_FLOAT = "only Tensors of floating point and complex dtype can require gradients"
LEAF_FLAGS = "you can only change requires_grad flags of leaf variables."
INFERENCE_REQUIRES_GRAD = "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed."
LEAF_FLAGS_FALSE = (LEAF_FLAGS + " If you want to use a computed variable in a subgraph that doesn't require "
                    "differentiation use var_no_grad = var.detach().")

class Size(tuple):
    """A tensor's shape: a tuple that prints as PyTorch's torch.Size."""

    def __repr__(self):
        return f"tritongrad.Size([{', '.join(map(str, self))}])"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n


class Tensor(TensorMath, TensorViews, TensorIndexing, MathMethods, InplaceMethods):
    """A multi-dimensional array with autograd; see tritongrad.tensor() to make one."""

    __slots__ = ("_data", "_dtype", "_be", "_requires_grad", "_grad_fn", "_output_nr", "_vc", "__dict__",
                 "__weakref__")
    # Rarely set: class-level defaults, so that making a tensor costs only the slots above.
    _grad = _base = _view_src = _hooks = _post_acc_hooks = _acc_ref = None
    _retains_grad = _inference = _multi_view = False  # _multi_view: autograd/views.py's make_view
    _view_version = 0
    __array_priority__ = 1000  # NOTE: ndarray (op) Tensor defers to our reflected operators

    def __new__(cls, *args, device=None):
        """Tensor(data), Tensor(*sizes), Tensor(): PyTorch's legacy constructor (see _legacy_ctors.py)."""
        from ._legacy_ctors import new_tensor

        return new_tensor(dt.get_default_dtype(), args, device)

    @staticmethod
    def _make(raw):
        """A new leaf tensor owning backend array `raw`."""
        t = _new(Tensor)
        cls = raw.__class__
        if cls is _ndarray:
            t._be, t._dtype = CPUBackend, _FROM_NP[raw.dtype]  # NOTE: bfloat16 never gets here (cpu._np)
        elif cls is DeviceArray:
            t._be, t._dtype = _get_backend("cuda"), raw.dtype
        else:  # a NumPy scalar from a reduction or 0-d ufunc
            raw = np.asarray(raw)
            t._be, t._dtype = CPUBackend, _FROM_NP[raw.dtype]
        t._data = raw
        t._requires_grad = False
        t._grad_fn = None
        t._output_nr = 0
        t._vc = [0]
        if _shared.inference_seen and _state.inference:  # NOTE: one attribute read unless inference_mode was used
            t._inference = True
        return t

    def _alias(self):
        """A new tensor object on the same memory and version counter, with no history."""
        t = Tensor._make(self._data)
        t._vc = self._vc
        if self._inference:
            t._inference = True
        return t

    def _accumulator(self, create=True):
        """This leaf's AccumulateGrad node (held weakly here, strongly by the graph)."""
        ref = self._acc_ref
        acc = ref() if ref is not None else None
        if acc is None and create:
            acc = AccumulateGrad(self)
            self._acc_ref = _weakref(acc)
        return acc

    # --- metadata ---------------------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[wrap_dim(dim, self.ndim)]

    @property
    def dtype(self):
        return self._dtype

    @property
    def device(self):
        return CPU if self._be is CPUBackend else CUDA0

    @property
    def is_cuda(self):
        return self._be is not CPUBackend

    @property
    def ndim(self):
        return len(self._data.shape)

    def dim(self):
        return len(self._data.shape)

    def numel(self):
        n = 1
        for s in self._data.shape:
            n *= s
        return n

    nelement = numel

    def element_size(self):
        return self._dtype.itemsize

    def stride(self, dim=None):
        st = self._be.strides(self._data)
        return st if dim is None else st[wrap_dim(dim, self.ndim)]

    def is_contiguous(self):
        return self._be.is_contiguous(self._data)

    def is_floating_point(self):
        return self._dtype.is_floating_point

    def type(self, dtype=None):
        if dtype is not None:
            return self.to(dtype)
        prefix = "tritongrad.cuda." if self.is_cuda else "tritongrad."
        return prefix + dt.TYPE_NAMES[self._dtype.name]

    @property
    def _version(self):
        if self.is_inference():
            raise RuntimeError("Inference tensors do not track version counter.")
        return self._vc[0]

    def is_inference(self):
        """Whether this tensor was made inside inference_mode (or is a view or detach of one)."""
        return self._inference or (self._base is not None and self._base._inference)

    def _is_view(self):
        """Whether this tensor is a view of another (its `_base`)."""
        return self._base is not None

    # --- autograd metadata ------------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self.is_inference() and not _state.inference:
            raise RuntimeError(INFERENCE_REQUIRES_GRAD)
        if self._grad_fn is not None:
            raise RuntimeError(LEAF_FLAGS if value else LEAF_FLAGS_FALSE)
        if value and not self._dtype.is_floating_point:
            raise RuntimeError(ONLY_FLOAT)
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad in place (leaves only) and return self."""
        if requires_grad and self.is_inference() and not _state.inference:
            raise RuntimeError(INFERENCE_REQUIRES_GRAD)
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(LEAF_FLAGS_FALSE)
            return self
        if requires_grad and not self._dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._grad_fn

    @property
    def is_leaf(self):
        return self._grad_fn is None

    @property
    def output_nr(self):
        return self._output_nr

    @property
    def grad(self):
        if self._grad_fn is not None and not self._retains_grad:
            warnings.warn(NONLEAF_GRAD, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value._dtype is not self._dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype '{value._dtype.name}' to a tensor "
                                   f"with dtype '{self._dtype.name}'. Please ensure that the gradient and the "
                                   "tensor have the same dtype")
            if value.device != self.device:
                raise RuntimeError(f"attempting to assign a gradient located on device '{value.device}' to a tensor "
                                   f"located on device '{self.device}'. Please ensure that the gradient and the "
                                   "tensor are on the same device")
            if value.shape != self.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{size_str(value.shape)}' to a tensor "
                                   f"of size '{size_str(self.shape)}'. Please ensure that the gradient and the "
                                   "tensor are the same size")
        self._grad = value

    @property
    def retains_grad(self):
        return self._retains_grad

    def retain_grad(self):
        """Keep this non-leaf's gradient in `.grad` during backward (a no-op on leaves)."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return
        import weakref

        node = self._grad_fn
        if node._retained is None:
            node._retained, node._plain = {}, False
        node._retained[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    @property
    def data(self):
        """The same memory as a tensor without history (and without the version counter)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value):
        self._data, self._dtype, self._be = value._data, value._dtype, value._be

    def detach(self):
        """A tensor on the same memory, sharing the version counter, cut from the graph."""
        return self._alias()

    def detach_(self):
        """Cut this tensor from the graph in place: it becomes a leaf that does not require grad."""
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) "
                "for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and "
                "hence detach_() cannot be called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        self._grad_fn, self._output_nr, self._requires_grad = None, 0, False
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into each leaf's `.grad`; see tritongrad.autograd.backward."""
        engine.backward(self, gradient, retain_graph, create_graph, inputs)

    def register_hook(self, hook):
        """hook(grad) -> Tensor or None, called with this tensor's gradient during backward."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is None:
            if self._hooks is None:
                self._hooks = _Hooks()
            return self._hooks.add(hook)
        node = self._grad_fn
        if node._tensor_hooks is None:
            node._tensor_hooks, node._plain = {}, False
        return node._tensor_hooks.setdefault(self._output_nr, _Hooks()).add(hook)

    def register_post_accumulate_grad_hook(self, hook):
        """hook(tensor), called after this leaf's `.grad` has been updated."""
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = _Hooks()
        return self._post_acc_hooks.add(hook)

    # --- conversion -------------------------------------------------------------------------------
    def numpy(self, *, force=False):
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.is_cuda and not force:
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy the "
                            "tensor to host memory first.")
        if self._dtype is dt.bfloat16:
            raise TypeError("Got unsupported ScalarType BFloat16")
        return self._be.to_numpy(self._data)

    def _host(self):
        """Host values for printing and conversion (bfloat16 widened to float32)."""
        t = self.float() if self._dtype is dt.bfloat16 else self
        return t._be.to_numpy(t._data)

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self._host().reshape(()).item()

    def tolist(self):
        return self._host().tolist()

    def __len__(self):
        if not self._data.shape:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if not self._data.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __float__(self):
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def _scalar(self):
        if self.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __index__(self):
        if self._dtype._kind != 1 or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, spec):
        if self.ndim == 0:
            return format(self.item(), spec)
        return format(repr(self), spec)

    __hash__ = object.__hash__

    def __repr__(self):
        from ._tensor_str import tensor_repr

        return tensor_repr(self)

    def __reduce_ex__(self, protocol):
        from ._creation import tensor

        return (tensor, (self._host(), self._dtype, str(self.device), self._requires_grad))

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """A DLPack capsule viewing this tensor's memory (zero-copy); see tritongrad/_dlpack.py."""
        from ._dlpack import export

        return export(self, stream, max_version, dl_device, copy)

    def __dlpack_device__(self):
        from ._dlpack import device_of

        return device_of(self)

    def to(self, *args, **kwargs):
        """A copy with another dtype and/or device, or self when nothing changes.

        Accepts to(dtype), to(device), to(device, dtype), to(other_tensor) and the keywords.
        """
        device, dtype, copy = parse_to_args(args, kwargs)
        be = self._be if device is None else _get_backend(parse_device(device).type)
        dtype = self._dtype if dtype is None else dtype
        if be is self._be and dtype is self._dtype and not copy:
            return self
        if be is CPUBackend and dtype is dt.bfloat16:
            _np_dtype(dtype)  # raises: bfloat16 is CUDA-only
        if not dtype.is_floating_point and self._requires_grad:
            with grad_mode.no_grad():  # NOTE: integer results carry no gradient, as in PyTorch
                return V.ToCopy.apply(self, dtype, be)
        return V.ToCopy.apply(self, dtype, be)

    def cpu(self):
        return self if self._be is CPUBackend else self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else parse_device(device if not isinstance(device, int)
                                                                 else f"cuda:{device}"))

    def float(self):
        return self.to(dt.float32)

    def double(self):
        return self.to(dt.float64)

    def half(self):
        return self.to(dt.float16)

    def bfloat16(self):
        return self.to(dt.bfloat16)

    def long(self):
        return self.to(dt.int64)

    def int(self):
        return self.to(dt.int32)

    def bool(self):
        return self.to(dt.bool_)

    def contiguous(self):
        return self if self._be.is_contiguous(self._data) else V.Clone.apply(self)

    def clone(self):
        return V.Clone.apply(self)

    def new_zeros(self, size, dtype=None, device=None):
        return self._new_full(size, 0, dtype, device)

    def new_ones(self, size, dtype=None, device=None):
        return self._new_full(size, 1, dtype, device)

    def new_full(self, size, fill_value, dtype=None, device=None):
        return self._new_full(size, fill_value, dtype, device)

    def new_tensor(self, data, dtype=None, device=None):
        from ._creation import tensor

        return tensor(data, dtype=dtype or self._dtype, device=device or self.device)

    def _new_full(self, size, value, dtype, device):
        be = self._be if device is None else _get_backend(parse_device(device).type)
        return Tensor._make(be.full(_sizes((size,)) if isinstance(size, int) else tuple(size), value,
                                    dtype or self._dtype))


def parse_to_args(args, kwargs):
    """(device, dtype, copy) from to()'s forms: to(dtype), to(device), to(device, dtype), to(tensor), keywords."""
    kwargs = dict(kwargs)
    dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    for a in args:
        if isinstance(a, dt.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype, device = a._dtype, a.device
        else:
            device = a
    return device, dtype, copy


# The one place where a layer below learns of the Tensor class: the engine makes root and leaf
# gradients as Tensors, and runs derivative formulas on arrays through the adapter (ops/formulas.py).
engine.install(Tensor, formulas.ARRAYS)
