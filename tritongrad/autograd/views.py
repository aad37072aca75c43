"""View history: how a view is linked to its base, how its history is redone from the base, and the
CopySlices node that an in-place op on a view leaves as its base's history (PyTorch's names).

A view shares its base's storage and version counter and records the chain of view methods that
made it (`_view_src`: (parent's chain, method, args)), so that after an in-place write its history
can be redone from the base's new one. ops/inplace.py does the writing; this is the graph's side.
"""
from .graph import Node, _sequence, edge, redo_view


def make_view(src, out, method, args):
    """Link `out`, made from `src` by `getattr(src, method)(*args)`, to src's base as a view."""
    out._vc = src._vc
    out._base = src if src._base is None else src._base
    out._view_src = (src._view_src, method, args)
    out._view_version = src._vc[0]
    if src._multi_view:  # NOTE: a view of a split's piece inherits its ban on in-place writes (PyTorch)
        out._multi_view = True
    return out


class CopySlices(Node):
    """A base's history after in-place op `fn` (a node) wrote into one of its views: the gradient
    of the view's region goes through fn, the rest of the base's gradient passes unchanged."""

    def __init__(self, fn, view_src, base_edge):
        self.fn, self.view_src = fn, view_src
        self.next_functions = (base_edge,) + fn.next_functions[1:]
        self._seq = next(_sequence)

    def name(self):
        return "torch::autograd::CopySlices"  # NOTE: PyTorch's C++ name, as its name() returns it

    def apply(self, g):
        res = self.fn.apply(redo_view(self.view_src, g))
        res = res if isinstance(res, tuple) else (res,)
        gb = g.clone()
        region = redo_view(self.view_src, gb)
        if res[0] is None:
            region.zero_()
        else:
            region.copy_(res[0])
        return (gb,) + tuple(res[1:])

    def _release(self):
        self.fn._release()  # NOTE: fn is run from here only: its saved tensors go with ours
        super()._release()


def copy_slices(view, fn):
    """After in-place op `fn` wrote into `view`: its base's history becomes CopySlices(fn), and the view's
    history is redone from it."""
    base = view._base
    node = CopySlices(fn, view._view_src, edge(base))
    base._grad_fn, base._output_nr, base._requires_grad = node, 0, True
    fresh = redo_view(view._view_src, base)
    view._grad_fn, view._output_nr, view._requires_grad = fresh._grad_fn, fresh._output_nr, True
    view._view_version = view._vc[0]
