"""dot, mv, bmm, outer and einsum: checks with PyTorch's messages, then the matmul rows of ops/linalg.py
(Dot, Mv and the Bmm row below) or views and products. einsum contracts its operands two at a time,
as permute / reshape / bmm (one matmul kernel per pair), the way PyTorch's own einsum does.
"""
from . import linalg
from .inplace import _SCALAR_NAMES
from .linalg import Matmul


class Bmm(Matmul):
    node_name = "BmmBackward0"


def _names(*ts):
    return [_SCALAR_NAMES[t._dtype.name] for t in ts]


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a._dtype is not b._dtype:
        raise RuntimeError("dot : expected both vectors to have same dtype, but found {} and {}".format(*_names(a, b)))
    linalg._check(a, b, "dot")
    return linalg.Dot.apply(a, b)


def mv(a, v):
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    if a._dtype is not v._dtype:
        raise RuntimeError("addmv input tensors must have the same dtype, but got {1}, {0}, and {1}".format(
            *_names(a, v)))
    linalg._check(a, v, "mv")
    return linalg.Mv.apply(a, v)


def bmm(a, b):
    for t, name in ((a, "batch1"), (b, "batch2")):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{a.shape[0]}, "
                           f"{a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")
    if a._dtype is not b._dtype:
        raise RuntimeError("expected scalar type {} but found {}".format(*_names(a, b)))
    linalg._check(a, b, "bmm")
    return Bmm.apply(a, b)


def outer(a, b):
    """a[:, None] * b (PyTorch's outer is this product: MulBackward0)."""
    for t, name in ((a, "self"), (b, "vec2")):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return a.reshape(-1, 1) * b


def einsum(equation=None, *operands):
    """torch.einsum: any number of operands (contracted two at a time, left to right, as PyTorch's default),
    `...`, an implicit output, a subscript repeated within one operand (its diagonal: 'ii->i', 'bii->bi'),
    size-1 dims broadcast; or the sublist format einsum(a, [0, 1], b, [1, 2], [0, 2])."""
    if not isinstance(equation, str):
        if not operands:
            raise ValueError("einsum(): must specify the equation string and at least one operand, "
                             "or at least one operand and its subscripts list")
        equation, operands = _sublist_equation((equation, *operands))
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    subs = lhs.split(",")
    if len(subs) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(subs) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    subs = _expand_ellipses(subs, operands)
    counts = {}  # NOTE: before diagonals: 'ii' is a trace, its label not kept in an implicit output
    for s in subs:
        for c in s:
            counts[c] = counts.get(c, 0) + 1
    operands = list(operands)
    for n, s in enumerate(subs):
        if len(set(s)) != len(s):
            operands[n], subs[n] = _diagonal(operands[n], s, n)
    sizes = {}
    for n, (s, t) in enumerate(zip(subs, operands)):
        for label, size in zip(s, t.shape):
            seen = sizes.setdefault(label, size)
            if seen != size and 1 not in (seen, size):
                raise RuntimeError(f"einsum(): subscript {label} has size {size} for operand {n} which does not "
                                   f"broadcast with previously seen size {seen}")
            sizes[label] = max(seen, size)
    if arrow:
        out = _explicit_output(rhs, subs)
    else:
        out = _ellipsis_labels(sizes) + tuple(sorted(c for c in sizes if counts[c] == 1 and c[0] != "\0"))
    ts = [t.expand(tuple(sizes[c] for c in s)) if tuple(t.shape) != tuple(sizes[c] for c in s) else t
          for t, s in zip(operands, subs)]
    t, s = ts[0], subs[0]
    for n in range(1, len(ts)):
        keep = set(out).union(*subs[n + 1:])
        t, s = _contract(t, s, ts[n], subs[n], keep)
    t, s = _sum_out(t, s, set(out))
    return t.permute(tuple(s.index(c) for c in out)) if s != out or len(ts) == 1 else t  # NOTE: one operand: a view


def _sublist_equation(args):
    """(equation, operands) of einsum's sublist format: operand, its subscripts (ints in [0, 52), Ellipsis),
    ..., and optionally the output's subscripts last; 0-25 are 'A'-'Z', 26-51 'a'-'z' (PyTorch's letters)."""
    from ..tensor import Tensor

    def letters(sub):
        out = []
        for x in sub:
            if x is Ellipsis:
                out.append("...")
                continue
            if not 0 <= x < 52:
                raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
            out.append(chr(ord("A") + x) if x < 26 else chr(ord("a") + x - 26))
        return "".join(out)

    n = len(args) // 2
    operands, subs = args[0:2 * n:2], args[1:2 * n:2]
    for k, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {2 * k} in argument 1, but got {type(t).__name__}")
    equation = ",".join(letters(s) for s in subs)
    if len(args) % 2:
        equation += "->" + letters(args[-1])
    return equation, operands


def _diagonal(t, s, n):
    """Operand t (labels s, one repeated): its diagonal over each repeated label's dims, that label kept once.

    NOTE: a masked sum over the second dim (masked_fill, not a product with the identity: inf off the
    diagonal must not leak in); differentiable like any op, on both devices.
    """
    from .._creation import eye

    s = list(s)
    while len(set(s)) != len(s):
        c = next(c for c in s if s.count(c) > 1)
        p1 = s.index(c)
        p2 = s.index(c, p1 + 1)
        if t.shape[p1] != t.shape[p2]:
            raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {n} but the sizes don't match, "
                               f"{t.shape[p2]} != {t.shape[p1]}")
        shape = [1] * t.ndim
        shape[p1] = shape[p2] = t.shape[p1]
        off = (eye(t.shape[p1], device=t.device) == 0).reshape(shape)
        t = t.masked_fill(off, 0).sum(p2)
        del s[p2]
    return t, tuple(s)


def _expand_ellipses(subs, operands):
    """Each '...' as that many labels of its own ('\\0' + a number), aligned from the right."""
    out = []
    for n, (s, t) in enumerate(zip(subs, operands)):
        if "..." in s:
            head, tail = s.split("...")
            k = t.ndim - len(head) - len(tail)
            out.append(list(head) + [f"\0{k - i}" for i in range(k)] + list(tail))
        else:
            if len(s) != t.ndim:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(s)}) does not match "
                                   f"the number of dimensions ({t.ndim}) for operand {n} and no ellipsis was given")
            out.append(list(s))
    return [tuple(s) for s in out]


def _ellipsis_labels(labels):
    """The ellipsis' labels, leftmost dim first (they lead an implicit output)."""
    return tuple(sorted((c for c in labels if c[0] == "\0"), key=lambda c: -int(c[1:])))


def _explicit_output(rhs, subs):
    labels = set().union(*subs)
    head, _, tail = rhs.partition("...")
    out = tuple(head) + (_ellipsis_labels(labels) if "..." in rhs else ()) + tuple(tail)
    for c in set(head + tail):
        if c not in labels:
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input "
                               "operand")
        if (head + tail).count(c) > 1:
            raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
    return out


def _sum_out(t, s, keep):
    """Sum the dims of labels not in `keep`."""
    dims = [i for i, c in enumerate(s) if c not in keep]
    if not dims:
        return t, s
    return t.sum(dims), tuple(c for c in s if c in keep)


def _contract(a, sa, b, sb, keep):
    """a and b (labels sa, sb) multiplied and summed over the shared labels not in `keep`, by one bmm."""
    a, sa = _sum_out(a, sa, keep | set(sb))
    b, sb = _sum_out(b, sb, keep | set(sa))
    batch = [c for c in sa if c in sb and c in keep]
    inner = [c for c in sa if c in sb and c not in keep]
    left = [c for c in sa if c not in sb]
    right = [c for c in sb if c not in sa]
    size = dict(zip(sa, a.shape)) | dict(zip(sb, b.shape))

    def n(labels):
        p = 1
        for c in labels:
            p *= size[c]
        return p

    a3 = a.permute(tuple(sa.index(c) for c in batch + left + inner)).reshape(n(batch), n(left), n(inner))
    b3 = b.permute(tuple(sb.index(c) for c in batch + inner + right)).reshape(n(batch), n(inner), n(right))
    out = Bmm.apply(a3, b3).reshape(tuple(size[c] for c in batch + left + right))
    return out, tuple(batch + left + right)
