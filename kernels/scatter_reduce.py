"""scatter_reduce along one dim (sum, prod, mean, amax, amin; include_self or not), deterministic.

One program instance per block of OUTPUT positions q (index's shape, with out's size along `dim`):
each walks the K = index.shape[dim] entries of its line of the index in order and folds in src's
values whose index equals q's own coordinate j along dim:

    out[q] = reduce(out[q] if include_self, src[q with dim = k] for k < K where index[q with dim = k] == j)

No atomics and no sort: every output element is reduced by one program, in index order (self first),
which is the order of the CPU reference (NumPy's ufunc.at), so float results are the same bits on
both devices and from run to run, and NaN propagates through amax / amin as in PyTorch. The price is
O(out.shape[dim] * K) index reads per line, against O(K) for atomics: fine for the segment sizes of
pooling-style uses, slow for one huge line (millions of entries into thousands of bins).

q's coordinate j along dim is read from a stand-in array (an int64 arange with stride 1 along dim, 0
elsewhere), so the launch plan may merge dims freely.
"""
import triton
import triton.language as tl

from .. import _nn_checks as IC
from .._dtype import int64
from . import _utils as U, elementwise as E
from .index import _1d, _along, _launch, _maybe_check

REDUCES = ("sum", "prod", "mean", "amax", "amin")


@triton.jit(do_not_specialize=["K", "istride", "sstride", "n", "S1", "S2", "S3"])
def scatter_reduce_kernel(src_ptr, idx_ptr, out_ptr, j_ptr, K, istride, sstride, n, S1, S2, S3, X0, X1, X2, X3,
                          I0, I1, I2, I3, O0, O1, O2, O3, J0, J1, J2, J3, OP: tl.constexpr,
                          INCLUDE_SELF: tl.constexpr, NDIM: tl.constexpr, I64: tl.constexpr, BLOCK: tl.constexpr):
    """out[q] = the reduction OP of out[q] (INCLUDE_SELF) and the src values scattered to q; q < n."""
    p = E._flat_index(BLOCK, I64)
    live = p < n
    j = tl.load(j_ptr + E._strided(p, S1, S2, S3, J0, J1, J2, J3, NDIM), mask=live, other=-1)
    optr = out_ptr + E._strided(p, S1, S2, S3, O0, O1, O2, O3, NDIM)
    acc = tl.load(optr, mask=live, other=0)
    ibase = idx_ptr + E._strided(p, S1, S2, S3, I0, I1, I2, I3, NDIM)
    sbase = src_ptr + E._strided(p, S1, S2, S3, X0, X1, X2, X3, NDIM)
    cnt = tl.zeros([BLOCK], tl.int64)
    if INCLUDE_SELF:
        cnt += 1
    for k in range(0, K):
        i = tl.load(ibase + k * istride, mask=live, other=-1).to(tl.int64)
        hit = live & (i == j)
        v = tl.load(sbase + k * sstride, mask=hit, other=0).to(acc.dtype)
        if OP == "sum" or OP == "mean":
            r = acc + v
        elif OP == "prod":
            r = acc * v
        elif OP == "amax":
            r = tl.where((v > acc) | (v != v), v, acc)  # NOTE: NaN wins, and stays (NaN > x is False)
        else:
            r = tl.where((v < acc) | (v != v), v, acc)
        if OP == "sum" or OP == "mean":
            v = v + 0  # NOTE: the first value lands on the identity, 0 + -0.0 = 0.0, as PyTorch's
        acc = tl.where(hit, tl.where(cnt == 0, v, r), acc)
        cnt += hit.to(tl.int64)
    if OP == "mean":
        d = tl.maximum(cnt, 1)
        if acc.dtype.is_floating():
            acc = (acc / d.to(acc.dtype)).to(acc.dtype)
        else:  # NOTE: integers: floor division (PyTorch's rounding_mode="floor"), on non-negative operands
            a = acc.to(tl.int64)  # only, where C's truncation and Python's floor agree (the interpreter's)
            acc = tl.where(a >= 0, a // d, -((d - 1 - a) // d)).to(acc.dtype)
    tl.store(optr, acc, mask=live & (cnt > 0))


def scatter_reduce(a, dim, index, src, reduce, include_self=True, check=True):
    """A copy of `a` with src reduced into it at `index` along dim (torch.scatter_reduce), see the module
    docstring; src has a's dtype and is at least index's size."""
    IC.check_scatter(a.shape, dim, index.shape, src.shape, a.dtype, src.dtype)
    IC.check_index_dtype("scatter", index.dtype)
    out = E.copy(a)
    o1, i1, s1 = _1d(out), _1d(index), _1d(src)
    _maybe_check("scatter", check, i1, dim, o1.shape[dim], False)
    if not i1.size_:
        return out
    shape = tuple(o1.shape[dim] if d == dim else s for d, s in enumerate(i1.shape))
    src_view = U.DeviceArray(s1.buf, s1.offset, i1.shape, s1.strides, s1.dtype)  # NOTE: src may be larger
    coord = E.arange(0, shape[dim], 1, int64)
    coord = _along(coord, shape, dim, keep_dim=True)
    target = U.DeviceArray(o1.buf, o1.offset, shape, o1.strides, o1.dtype)  # NOTE: out within index's extent
    _launch(scatter_reduce_kernel, shape, [_along(src_view, shape, dim), _along(i1, shape, dim), target, coord],
            (i1.shape[dim], i1.strides[dim], src_view.strides[dim]), OP=reduce, INCLUDE_SELF=bool(include_self))
    return out
