"""PyTorch's memory-overlap check of an in-place write (ATen's get_overlap_status / assert_no_partial_overlap).

An in-place op whose input shares some, but not all, of its memory with the written-to tensor
(`x[1:].add_(x[:-1])`, `x.copy_(x.t())`) would read elements it has already overwritten (on a GPU,
in a race): PyTorch raises before writing, and so do we. The exact same memory with the same strides
(`x.add_(x)`) is allowed. As in PyTorch, only tensors that are non-overlapping and dense (a
permutation of a contiguous block) are compared, by the address range they cover: from the array's
pointer, shape and strides alone, so the check never synchronizes a device.
"""
import numpy as np

PARTIAL = ("unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
           "memory location. Please clone() the tensor before performing the operation.")


def _same_memory(a, b):
    """Could backend arrays a and b share memory (a cheap test: NumPy's bounds, or one CUDA Storage)?"""
    if isinstance(a, np.ndarray):  # NOTE: two arrays that own their memory share none (and cost no NumPy call)
        return isinstance(b, np.ndarray) and not (a.base is None and b.base is None) and np.may_share_memory(a, b)
    return getattr(a, "buf", None) is not None and a.buf is getattr(b, "buf", None)


def _dense_range(t):
    """(first byte, end byte, strides) of t's memory when t is non-overlapping and dense, else None."""
    a, be = t._data, t._be
    strides = be.strides(a)
    expected = 1
    for stride, size in sorted((st, sz) for sz, st in zip(a.shape, strides) if sz != 1):
        if stride != expected:
            return None
        expected *= size
    begin = a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else a.data_ptr()
    return begin, begin + expected * t._dtype.itemsize, strides


def check_partial_overlap(out, *inputs):
    """Raise PyTorch's RuntimeError when an input (a Tensor; other operands are skipped) partly overlaps `out`."""
    for t in inputs:
        if t is out or not hasattr(t, "_data") or t._data is out._data or not _same_memory(out._data, t._data):
            continue  # NOTE: the common case (an SGD step), first and cheap
        if not t.numel() or not out.numel():
            continue
        ra, rb = _dense_range(out), _dense_range(t)
        if ra is None or rb is None:  # NOTE: PyTorch's "too hard" case: not checked
            continue
        if (ra[:2] == rb[:2] and ra[2] != rb[2]) or (ra[:2] != rb[:2] and ra[0] < rb[1] and rb[0] < ra[1]):
            raise RuntimeError(PARTIAL)


def writable(a):
    """A writable view of backend array `a`: NumPy's broadcast views (expand) are read-only, but fill_ may
    write one value through them, as PyTorch does. A CUDA array, or one whose memory is read-only, is `a`."""
    if not isinstance(a, np.ndarray) or a.flags.writeable:
        return a
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (root.flags.writeable and root.flags.c_contiguous):
        return a
    offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return np.ndarray(a.shape, a.dtype, buffer=root, offset=offset, strides=a.strides)
