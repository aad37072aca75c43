"""Tensor's indexing, joining and splitting methods and their tritongrad.<name> functions: each checks
its arguments with PyTorch's messages and calls an op (ops/index.py, ops/advanced.py, ops/join.py).
A base class of Tensor, as _tensor_math.py is."""
from . import _args as A, _dtype as dt, _signatures as S
from ._tensor_views import _sizes
from .autograd.grad_mode import state
from .autograd.views import make_view
from .ops import advanced, index as X, index_reduce as RI, join as J
from .ops.inplace import _SCALAR_NAMES
from .ops.util import broadcast_shapes, check_device, size_str, wrap_dim, wrap_dims


def _index(t, index, name="index", fn=None):
    from .tensor import Tensor

    if not isinstance(index, Tensor):
        raise TypeError(f"{fn or 'expected'}(): argument '{name}' must be Tensor, not {A.type_name(index)}")
    check_device(t, index)
    return index._data


def _multi_view(t, cls, dim, sizes, split_size, given_dim):
    """The pieces of split / unbind (op `cls`): views of t, outputs of one node; made with grad mode on,
    they (and views of them) may not be written in place while autograd records (PyTorch's
    CreationMeta::MULTI_OUTPUT_NODE, ops/inplace.py)."""
    pieces = cls.apply(t, dim, sizes, split_size, given_dim)
    pre, start, multi = (slice(None),) * dim, 0, state.grad_enabled
    for p, s in zip(pieces, sizes):
        idx = pre + ((start if cls is J.Unbind else slice(start, start + s)),)
        make_view(t, p, "__getitem__", (idx,))
        p._multi_view = multi
        start += s
    return pieces


class TensorIndexing:
    __slots__ = ()

    # --- gathers and scatters ---------------------------------------------------------------------
    def index_select(self, dim, index):
        dim = S.dim_tensors("index_select", dim, ("index", index))
        if index.ndim > 1:  # NOTE: PyTorch's order: this before the index's dtype
            raise IndexError("index_select(): Index is supposed to be a vector")
        return X.IndexSelect.apply(self, wrap_dim(dim, self.ndim), _index(self, index), False, True)

    def gather(self, dim, index):
        dim = S.dim_tensors("gather", dim, ("index", index))
        if index._dtype is not dt.int64 and index._dtype is not dt.int32 and not index.numel():
            index = index.long()  # NOTE: PyTorch returns for an empty index before checking its dtype
        return X.Gather.apply(self, wrap_dim(dim, self.ndim), _index(self, index), True)

    def take_along_dim(self, indices, dim=None):
        A.check_tensor(indices, "take_along_dim", "indices")
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        if dim.__class__ is not int:
            dim = A.index(dim, "take_along_dim", "dim", 2)
        if indices.ndim != self.ndim:
            raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
                               f"but got {self.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
        if indices._dtype is not dt.int64:
            raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got "
                               + A.scalar_name(indices._dtype))
        dim = wrap_dim(dim, self.ndim)
        shape = list(broadcast_shapes(self.shape, indices.shape))
        sx, si = list(shape), list(shape)
        sx[dim], si[dim] = self.shape[dim], indices.shape[dim]
        x = self if tuple(sx) == self.shape else self.expand(sx)
        return x.gather(dim, indices if tuple(si) == indices.shape else indices.expand(si))

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        src = value if src is None else src
        return _scatter(self, dim, index, src, reduce, inplace=False)

    def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
        src = value if src is None else src
        return _scatter(self, dim, index, src, reduce, inplace=True)

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        dim = _scatter_reduce_args("scatter_reduce", dim, index, src, reduce, include_self)
        return RI.scatter_reduce(self, wrap_dim(dim, self.ndim), _index(self, index), src, reduce, include_self, False)

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        dim = _scatter_reduce_args("scatter_reduce_", dim, index, src, reduce, include_self)
        return RI.scatter_reduce(self, wrap_dim(dim, self.ndim), _index(self, index), src, reduce, include_self, True)

    def scatter_add(self, dim, index, src):
        dim = S.dim_tensors("scatter_add", dim, ("index", index), ("src", src))
        return _scatter(self, dim, index, src, "add", inplace=False, legacy=False)

    def scatter_add_(self, dim, index, src):
        dim = S.dim_tensors("scatter_add_", dim, ("index", index), ("src", src))
        return _scatter(self, dim, index, src, "add", inplace=True, legacy=False)

    def index_add(self, dim, index, source, *, alpha=1):
        dim = S.dim_tensors("index_add", dim, ("index", index), ("source", source))
        S.vector_index("index_add_", index)
        return _index_put(self, dim, index, source if alpha == 1 else source * alpha, X.IndexAdd, True, False)

    def index_add_(self, dim, index, source, *, alpha=1):
        dim = S.dim_tensors("index_add_", dim, ("index", index), ("source", source))
        S.vector_index("index_add_", index)
        return _index_put(self, dim, index, source if alpha == 1 else source * alpha, X.IndexAdd, True, True)

    def index_copy(self, dim, index, source):
        dim = S.dim_tensors("index_copy", dim, ("index", index), ("source", source))
        S.vector_index("index_copy_", index)
        return _index_put(self, dim, index, source, X.IndexCopy, False, False)

    def index_copy_(self, dim, index, source):
        dim = S.dim_tensors("index_copy_", dim, ("index", index), ("source", source))
        S.vector_index("index_copy_", index)
        return _index_put(self, dim, index, source, X.IndexCopy, False, True)

    def index_put_(self, indices, values, accumulate=False):
        advanced.setitem(self, S.index_put_args("index_put_", indices, values, accumulate), values, accumulate)
        return self

    def index_put(self, indices, values, accumulate=False):
        return advanced.setitem(self, S.index_put_args("index_put", indices, values, accumulate), values,
                                accumulate, inplace=False)

    def masked_fill(self, mask, value):
        S.masked_fill_args("masked_fill", mask, value)
        advanced.check_mask(self, mask, value, "masked_fill_")
        if hasattr(value, "_data") and value._be is not self._be:
            value = value.to(self.device)
        return (X.MaskedFillTensor if hasattr(value, "_data") else X.MaskedFill).apply(self, value, mask)

    def masked_fill_(self, mask, value):
        S.masked_fill_args("masked_fill_", mask, value)
        if hasattr(value, "_data") and value._be is not self._be:
            value = value.to(self.device)
        return advanced.masked_fill_(self, mask, value)

    def masked_select(self, mask):
        A.check_tensor(mask, "masked_select", "mask")
        if mask._dtype is not dt.bool_:
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        check_device(self, mask)
        shape = broadcast_shapes(mask.shape, self.shape)
        be = self._be
        m = mask._data if mask.shape == shape else be.contiguous(be.expand(mask._data, shape))
        return X.MaskedSelect.apply(self, shape, be.nonzero(m))

    def nonzero(self, *, as_tuple=False):
        from .tensor import Tensor

        if as_tuple.__class__ is not bool:
            A.check_bool(as_tuple, "nonzero", "as_tuple")
        be = self._be
        flat = be.nonzero(self._data)
        if as_tuple:
            if self.ndim == 0:
                return (Tensor._make(flat),)
            coords = be.unravel(flat, self.shape)
            return tuple(Tensor._make(be.contiguous(be.index(coords, (slice(None), d)))) for d in range(self.ndim))
        return Tensor._make(be.unravel(flat, self.shape))

    def argwhere(self):
        return self.nonzero()

    # --- splitting (views) ----------------------------------------------------------------------
    def split(self, split_size, dim=0):
        if isinstance(split_size, A.TensorBase):  # NOTE: as PyTorch's Tensor.split (Python): int() if it can
            try:
                split_size = int(split_size)
            except ValueError:
                pass
        if split_size.__class__ is not int:
            split_size = S.split_sizes(split_size)
        if dim.__class__ is not int:
            dim = A.index(dim, "split")
        if self.ndim == 0:
            raise RuntimeError("split expects at least a 1-dimensional tensor")
        if split_size.__class__ is int and split_size < 0:  # NOTE: PyTorch's order: before the dim
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={split_size}")
        wrapped = wrap_dim(dim, self.ndim)
        n = self.shape[wrapped]
        if isinstance(split_size, (list, tuple)):
            sizes = list(split_size)
            if any(s < 0 for s in sizes):
                raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative entries, but got "
                                   f"split_sizes={size_str(sizes)}")
            if sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                                   f"at dimension {wrapped}), but got split_sizes={size_str(sizes)}")
            cls, arg = J.SplitWithSizes, None
        else:
            s = split_size
            if s < 0:
                raise RuntimeError(f"split expects split_size be non-negative, but got split_size={s}")
            if s == 0 and n:
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
            sizes = [min(s, n - i) for i in range(0, n, s)] if n else [0]
            cls, arg = J.Split, s
        return _multi_view(self, cls, wrapped, sizes, arg, dim)

    def split_with_sizes(self, split_sizes, dim=0):
        if isinstance(split_sizes, (int, A.TensorBase)):
            raise TypeError("split_with_sizes(): argument 'split_sizes' (position 1) must be tuple of ints, not "
                            + A.type_name(split_sizes))
        return self.split(list(A.int_list(split_sizes, "split_with_sizes", "split_sizes")), dim)

    def chunk(self, chunks, dim=0):
        if chunks.__class__ is not int:
            chunks = A.index(chunks, "chunk", "chunks")
        if dim.__class__ is not int:
            dim = A.index(dim, "chunk")
        if self.ndim == 0:
            raise RuntimeError("chunk expects at least a 1-dimensional tensor")
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        n = self.shape[wrap_dim(dim, self.ndim)]
        return self.split(max(-(-n // chunks), 1) if n else 0, dim) if n else self.split([0] * chunks, dim)

    def tensor_split(self, indices_or_sections=None, dim=0, *, sections=None, indices=None):
        """Pieces of self along dim: `sections` of sizes differing by at most one (the first ones larger), or
        cut at `indices` (Python slices' rules: x[:i0], x[i0:i1], ..., x[ik:]); each a view (SliceBackward0)."""
        from .tensor import Tensor

        arg = indices_or_sections if indices_or_sections is not None else sections if sections is not None else indices
        arg = S.sections("tensor_split", arg, (self, arg, dim), True)
        dim = A.index(dim, "tensor_split")
        if self.ndim == 0:
            raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
        if isinstance(arg, Tensor):
            if arg.device.type != "cpu":
                raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be on cpu, but it's on "
                                   f"{arg.device}")
            if arg._dtype is not dt.int64:
                raise RuntimeError("tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                                   f"{_SCALAR_NAMES[arg._dtype.name]}")
            if arg.ndim > 1:
                raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                                   f"one-dimensional tensor, but got a tensor with {arg.ndim} dims")
            arg = arg.item() if arg.ndim == 0 else arg.tolist()
        dim = wrap_dim(dim, self.ndim)
        n, pre = self.shape[dim], (slice(None),) * dim
        if isinstance(arg, (list, tuple)):
            cuts = [int(i) for i in arg]
            bounds = list(zip([0] + cuts, cuts + [None]))
        else:
            k = int(arg)
            if k <= 0:
                raise RuntimeError(f"number of sections must be larger than 0, got {k}")
            size, extra = divmod(n, k)
            starts = [i * size + min(i, extra) for i in range(k + 1)]
            bounds = list(zip(starts[:-1], starts[1:]))
        return tuple(self[pre + (slice(a, b),)] for a, b in bounds)

    def _nsplit(self, indices_or_sections, name, dim, least):
        indices_or_sections = S.sections(name, indices_or_sections, (self, indices_or_sections), False)
        if self.ndim < least:
            raise RuntimeError(f"torch.{name} requires a tensor with at least {least} dimension, but got a tensor "
                               f"with {self.ndim} dimensions!")
        if not isinstance(indices_or_sections, (list, tuple)):
            k = int(indices_or_sections)
            if k == 0 or self.shape[dim] % k:
                raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                                   f"dimension {self.shape[dim]} is not divisible by the split_size {k}!")
        return self.tensor_split(indices_or_sections, dim)

    def hsplit(self, indices_or_sections, *indices):
        return self._nsplit((indices_or_sections, *indices) if indices else indices_or_sections, "hsplit",
                            1 if self.ndim > 1 else 0, 1)

    def vsplit(self, indices_or_sections, *indices):
        return self._nsplit((indices_or_sections, *indices) if indices else indices_or_sections, "vsplit", 0, 2)

    def dsplit(self, indices_or_sections, *indices):
        return self._nsplit((indices_or_sections, *indices) if indices else indices_or_sections, "dsplit", 2, 3)

    def unbind(self, dim=0):
        wrapped = wrap_dim(dim, self.ndim, "unbind")
        return _multi_view(self, J.Unbind, wrapped, [1] * self.shape[wrapped], None, dim)

    def narrow(self, dim, start, length):
        if dim.__class__ is not int or start.__class__ is not int or length.__class__ is not int:
            dim, start, length = A.index(dim, "narrow"), A.symint(start, "narrow", "start"), A.symint(
                length, "narrow", "length")
        if self.ndim == 0:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        dim = wrap_dim(dim, self.ndim)
        n = self.shape[dim]
        if not -n <= start <= n:
            raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
        start = start + n if start < 0 else start
        if start + length > n:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
        return self[(slice(None),) * dim + (slice(start, start + length),)]

    # --- repeating, reordering, triangles --------------------------------------------------------
    def repeat(self, *sizes):
        reps = _sizes(sizes, "repeat", "repeats")
        if len(reps) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                               "tensor")
        shape = (1,) * (len(reps) - self.ndim) + self.shape
        out = [r * s for r, s in zip(reps, shape)]
        for o in out:
            if o < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {o}: {size_str(out)}")
        return J.Repeat.apply(self, tuple(max(r, 0) for r in reps))  # NOTE: a negative repeat of a size 0 is 0

    def tile(self, *dims):
        reps = _sizes(dims, "tile", "dims")
        return self.repeat((1,) * (self.ndim - len(reps)) + reps)

    def flip(self, *dims):
        dims = wrap_dims(_sizes(dims, "flip", "dims", sym=False), self.ndim, repeats_first=True)
        return J.Flip.apply(self, dims if self.ndim else ())  # NOTE: a 0-d tensor flips to a copy of itself

    def fliplr(self):
        if self.ndim < 2:
            raise RuntimeError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self):
        if self.ndim < 1:
            raise RuntimeError("Input must be >= 1-d.")
        return self.flip(0)

    def roll(self, shifts, dims=None):
        shifts = A.int_list(shifts, "roll", "shifts")
        if dims is not None:
            dims = A.int_list(dims, "roll", "dims")
        if dims is None:
            if len(shifts) != 1:
                raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
            if not self.numel():
                return self.clone()
            return J.Roll.apply(self.reshape(-1), shifts, (0,)).view(self.shape)
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
        if not self.numel():  # NOTE: PyTorch returns an empty tensor's copy before checking the dims
            return self.clone()
        return J.Roll.apply(self, shifts, tuple(wrap_dim(d, self.ndim) for d in dims))

    def tril(self, diagonal=0):
        return _triangle(self, diagonal, False, "tril")

    def triu(self, diagonal=0):
        return _triangle(self, diagonal, True, "triu")

    def tril_(self, diagonal=0):
        return self.copy_(self.tril(diagonal))

    def triu_(self, diagonal=0):
        return self.copy_(self.triu(diagonal))

    def diag(self, diagonal=0):
        if diagonal.__class__ is not int:
            diagonal = A.index(diagonal, "diag", "diagonal")
        if self.ndim == 1:
            n = self.shape[0] + abs(diagonal)
            return J.DiagEmbed.apply(self, diagonal, (n, n))
        if self.ndim == 2:
            return J.Diagonal.apply(self, diagonal)
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")

    def movedim(self, source, destination):
        if isinstance(source, (tuple, list)) != isinstance(destination, (tuple, list)):  # NOTE: (int, int) or lists
            raise A.no_overload("movedim", (source, destination), ("(int source, int destination)",
                                                                   "(tuple of ints source, tuple of ints destination)"))
        src, dst = A.int_list(source, "movedim", "source"), A.int_list(destination, "movedim", "destination")
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({size_str(src)} dims) should "
                               f"contain the same number of dims as destination ({size_str(dst)} dims)")
        src = tuple(wrap_dim(d, self.ndim) for d in src)
        dst = tuple(wrap_dim(d, self.ndim) for d in dst)
        for name, ds in (("source", src), ("destination", dst)):
            if len(set(ds)) != len(ds):
                raise RuntimeError(f"movedim: repeated dim in `{name}` ({size_str(ds)})")
        if not self.ndim:
            return self.permute(())  # NOTE: a 0-d tensor's dims 0 / -1 move nowhere
        perm = [-1] * self.ndim
        for s, d in zip(src, dst):
            perm[d] = s
        rest = iter(d for d in range(self.ndim) if d not in src)
        perm = [p if p >= 0 else next(rest) for p in perm]
        return self.permute(perm)

    moveaxis = movedim

    def swapdims(self, dim0, dim1):
        return self.transpose(dim0, dim1)


def _triangle(t, diagonal, upper, name):
    if diagonal.__class__ is not int:
        diagonal = A.symint(diagonal, name, "diagonal")
    if t.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    return (J.Triu if upper else J.Tril).apply(t, diagonal, upper)


def _scatter_reduce_args(fn, dim, index, src, reduce, include_self):
    """PyTorch's parser's checks of scatter_reduce(int dim, Tensor index, Tensor src, str reduce, *, bool
    include_self), before the op's own: the int dim (returned)."""
    dim = S.dim_tensors(fn, dim, ("index", index), ("src", src))
    if not isinstance(reduce, str):
        raise TypeError(f"{fn}(): argument 'reduce' must be str, not {A.type_name(reduce)}")
    A.check_bool(include_self, fn, "include_self")
    return dim


def _scatter(t, dim, index, src, reduce, inplace, legacy=True):
    """scatter / scatter_ (`reduce`: the deprecated 'add' / 'multiply', `legacy`) and scatter_add(_)."""
    from .tensor import Tensor

    name = "scatter_" if inplace else "scatter"
    dim = S.dim_tensors(name, dim, ("index", index))
    if not isinstance(src, (Tensor, int, float)):
        raise A.no_overload(name, (dim, index, src), ("(int dim, Tensor index, Tensor src)",
                                                      "(int dim, Tensor index, Number value)"))
    if legacy and reduce is not None:
        return RI.scatter_legacy(t, wrap_dim(dim, t.ndim), _index(t, index), src, reduce, inplace)
    dim, idx = wrap_dim(dim, t.ndim), _index(t, index)
    be = t._be
    if not isinstance(src, Tensor):
        if reduce == "add":
            raise TypeError("scatter_add(): argument 'src' must be Tensor, not " + type(src).__name__)
        if inplace:
            return advanced.write(t, lambda s: X.ScatterValue.apply(s, dim, idx, src, True), (), lambda: be.scatter_(
                t._data, dim, idx, be.full(idx.shape, src, t._dtype), None, True))
        return X.ScatterValue.apply(t, dim, idx, src, True)
    check_device(t, src)
    cls = X.ScatterAdd if reduce == "add" else X.Scatter
    if inplace:
        return advanced.write(t, lambda s: cls.apply(s, src, dim, idx, reduce, True), (src,),
                       lambda: be.scatter_(t._data, dim, idx, src._data, reduce, True))
    return cls.apply(t, src, dim, idx, reduce, True)


def _index_put(t, dim, index, source, cls, accumulate, inplace):
    dim, idx = wrap_dim(dim, t.ndim), _index(t, index)
    check_device(t, source)
    if not inplace:
        return cls.apply(t, source, dim, idx, accumulate, False, True)
    be = t._be
    if accumulate:
        def now():
            be.index_add_(t._data, dim, idx, source._data, 1, False, None, True)
    else:
        def now():
            be.index_copy_(t._data, dim, idx, source._data, False, True)
    return advanced.write(t, lambda s: cls.apply(s, source, dim, idx, accumulate, False, True), (source,), now)


# --- tritongrad.<name> ---------------------------------------------------------------------------------
from ._tensor_join import cat, concat, concatenate, hstack, stack, vstack  # noqa: E402,F401


def nonzero(input, *, as_tuple=False):
    A.check_tensor(input, "nonzero", "input", 1)
    return input.nonzero(as_tuple=as_tuple)


def _method(name):
    def fn(input, *args, **kwargs):
        if not isinstance(input, A.TensorBase):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {A.type_name(input)}")
        if name in ("hsplit", "vsplit", "dsplit"):  # NOTE: the functions' parser is stricter than the methods'
            if len(args) != 1 or kwargs:
                raise A.no_overload(name, (input, *args), ("(Tensor input, int sections)",
                                                            "(Tensor input, tuple of ints indices)"))
            args = (S.sections(name, args[0], (input, *args), False, strict=True),)
        if name in ("tile", "flip") and args:  # NOTE: torch.tile(x, dims) takes one sequence, x.tile(*dims) many
            from .functional import _one_list

            _one_list(name, args)
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"tritongrad.{name}(x, ...) is x.{name}(...)."
    return fn


_METHODS = ("index_select gather scatter scatter_add index_add index_copy index_put masked_fill masked_select "
            "scatter_reduce take_along_dim argwhere split chunk unbind tensor_split hsplit vsplit dsplit tile flip "
            "fliplr flipud roll tril triu diag movedim moveaxis swapaxes swapdims").split()
globals().update({name: _method(name) for name in _METHODS})


def split(tensor, split_size_or_sections, dim=0):
    """torch.split, a Python function in PyTorch too (a non-tensor fails with its AttributeError)."""
    return tensor.split(split_size_or_sections, dim)

__all__ = ["nonzero", *_METHODS]  # NOTE: and the joins (_tensor_join.__all__)

