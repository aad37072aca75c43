"""PyTorch's checks and error messages of layer norm and the gather / scatter family, for both devices.

Pure Python on shapes and dtypes: the NumPy reference (backends/cpu_nn.py) and the Triton launch
wrappers (kernels/index.py) both call these before touching memory, so that a bad call raises the
same error, with PyTorch's type and text, on either device and before anything is written.
"""

_INDEX_DTYPES = ("int32", "int64")


_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


_NAMES = {}


def _name(dtype):
    # NOTE: cached: NumPy's dtype.name is Python code (~10 us), read by several checks per call
    name = _NAMES.get(dtype)
    if name is None:
        name = _NAMES[dtype] = getattr(dtype, "name", str(dtype))
    return name


def _shape_str(shape):
    return "[" + ", ".join(map(str, shape)) + "]"


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def check_layer_norm(x_shape, normalized_shape, weight_shape=None, bias_shape=None):
    """PyTorch's shape checks of F.layer_norm; returns (M rows, N elements per row)."""
    ns = tuple(normalized_shape)
    if not ns:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
                           "one element, but got normalized_shape = []")
    for what, shape in (("weight", weight_shape), ("bias", bias_shape)):
        if shape is not None and tuple(shape) != ns:
            raise RuntimeError(f"Expected {what} to be of same shape as normalized_shape, but got {what} of shape "
                               f"{_shape_str(shape)} and normalized_shape = {_shape_str(ns)}")
    if tuple(x_shape[len(x_shape) - len(ns):]) != ns or len(x_shape) < len(ns):
        raise RuntimeError(f"Given normalized_shape={_shape_str(ns)}, expected input with shape "
                           f"[*, {', '.join(map(str, ns))}], but got input of size{_shape_str(x_shape)}")
    n = _prod(ns)
    return _prod(x_shape) // max(n, 1), n


def check_index_dtype(op, dtype):
    """index_select / index_add_ / gather ... take int32 or int64 indices only."""
    if _name(dtype) not in _INDEX_DTYPES:
        if op == "gather":
            raise RuntimeError("gather(): Expected dtype int32/int64 for index")
        if op == "index_select":
            raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index")


def check_vector_index(op, index_shape):
    if len(index_shape) > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")


def check_index_select(x_ndim, index_shape):
    check_vector_index("index_select", index_shape)
    if x_ndim == 0 and _prod(index_shape) != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {_prod(index_shape)} value(s)")


def check_dim(dim, ndim):
    """dim in [0, max(ndim, 1)): the wrappers take non-negative dims (ops normalize them)."""
    if not 0 <= dim < max(ndim, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                         f"{max(ndim, 1) - 1}], but got {dim})")


def check_gather(x_shape, dim, index_shape):
    """torch.gather's shape rule: same ndim; index.size(d) <= x.size(d) for d != dim."""
    check_dim(dim, len(x_shape))
    if len(index_shape) != len(x_shape) and max(len(index_shape), 1) != max(len(x_shape), 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d, (i, s) in enumerate(zip(index_shape, x_shape)):
        if d != dim and i > s:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {_shape_str(index_shape)} to be "
                               f"no larger than self {_shape_str(x_shape)} apart from dimension {dim}")


def check_scatter(out_shape, dim, index_shape, src_shape, out_dtype, src_dtype):
    """scatter_ / scatter_add_'s rules: src of out's dtype; index no larger than out (apart from dim)
    and than src."""
    check_dim(dim, len(out_shape))
    if _name(out_dtype) != _name(src_dtype):
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if len(index_shape) != len(out_shape) and max(len(index_shape), 1) != max(len(out_shape), 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if len(src_shape) != len(index_shape) and max(len(src_shape), 1) != max(len(index_shape), 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    bad = any(d != dim and i > s for d, (i, s) in enumerate(zip(index_shape, out_shape)))
    if bad or any(i > s for i, s in zip(index_shape, src_shape)):
        raise RuntimeError(f"Expected index {_shape_str(index_shape)} to be no larger than self "
                           f"{_shape_str(out_shape)} apart from dimension {dim} and to be no larger size than src "
                           f"{_shape_str(src_shape)}")


def check_index_add(op, out_shape, dim, n_index, src_shape, out_dtype, src_dtype):
    """index_add_ / index_copy_: src is out's shape with out.size(dim) replaced by len(index)."""
    check_dim(dim, len(out_shape))
    src_dim = src_shape[dim] if src_shape else 1
    if n_index != src_dim:
        if op == "index_copy_":
            raise IndexError(f"index_copy_(): Number of indices ({n_index}) should be equal to source.size(dim) "
                             f"({src_dim})")
        raise RuntimeError(f"{op}(): Number of indices ({n_index}) should be equal to source.size(dim): ({src_dim}), "
                           f"for dim: {dim}")
    o, s = tuple(out_shape) or (1,), tuple(src_shape) or (1,)  # NOTE: a 0-d array counts as one element
    if len(o) != len(s) or any(a != b for d, (a, b) in enumerate(zip(o, s)) if d != dim):
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {_shape_str(out_shape)} source.shape = {_shape_str(src_shape)}")
    if _name(out_dtype) != _name(src_dtype):
        a, b = (_TORCH_NAMES.get(_name(d), _name(d)) for d in (out_dtype, src_dtype))
        raise RuntimeError(f"{op}(): self ({a}) and source ({b}) must have the same scalar type")


def out_of_bounds(op, value, dim, size, wrap):
    """The error PyTorch raises for an index `value` outside [0, size) ([-size, size) when `wrap`).

    Advanced indexing (x[idx], index_put_: `wrap`) raises IndexError with the value; index_select and
    embedding raise IndexError('index out of range in self'); index_copy_ IndexError with its name;
    gather, scatter and index_add_ raise RuntimeError with the value.
    """
    if op in ("index_select", "embedding") and not wrap:
        return IndexError("index out of range in self")
    if op == "index_copy_" and not wrap:
        return IndexError(f"index_copy_(): index {value} is out of bounds for dimension {dim} with size {size}")
    cls = IndexError if wrap else RuntimeError
    return cls(f"index {value} is out of bounds for dimension {dim} with size {size}")
