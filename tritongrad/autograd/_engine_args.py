"""The arguments of `backward()` and `grad()` (engine.py), normalized and checked before anything runs.

The checks run in PyTorch's order with PyTorch's messages (tests/test_engine_errors.py compares them):
grad()'s flags, `inputs`, the root gradients (`_make_grads`), the outputs, then each input. What comes
out is what the engine's scheduler takes: outputs and root gradients as tuples (gradients as backend
arrays unless create_graph), `inputs` as a tuple, and where each input's gradient arrives.

The Tensor class is passed in by engine.py (installed there by tensor.py), as hooks.py receives it.
"""
import warnings
from collections.abc import Mapping

_warned_create_graph = False  # NOTE: PyTorch warns once per process

CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the parameter and its gradient "
    "which can cause a memory leak. We recommend using autograd.grad when creating the graph to avoid this. If you "
    "have to use this function, make sure to reset the .grad fields of your parameters to None after use to break "
    "the cycle and avoid the leak.")


def backward_args(Tensor, tensors, grad_tensors, create_graph, inputs):
    """backward()'s (tensors, grad_tensors, inputs) -> (outputs, root gradients, inputs tuple or None)."""
    inputs = None if inputs is None else _inputs_tuple(Tensor, inputs, "backward")
    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    grads = _make_grads(Tensor, tensors, grad_tensors, create_graph)
    if create_graph:
        _warn_create_graph()
    return tensors, grads, inputs


def grad_args(Tensor, outputs, inputs, grad_outputs, create_graph, only_inputs, allow_unused, is_grads_batched,
              materialize_grads):
    """grad()'s arguments -> (outputs, root gradients, inputs tuple, allow_unused as it applies)."""
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    if is_grads_batched:
        raise NotImplementedError("grad(is_grads_batched=True) is not supported by tritongrad (it has no vmap)")
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = _inputs_tuple(Tensor, inputs, "grad")
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.", FutureWarning,
                      stacklevel=3)  # NOTE: grad_args, engine.grad, its caller
    return outputs, _make_grads(Tensor, outputs, grad_outputs, create_graph), inputs, allow_unused


def grad_results(inputs, keys, captured, allow_unused, materialize_grads, create_graph):
    """grad()'s result from the gradients captured for its inputs (a dict if `keys`, those of the dict of
    inputs given): an unused input is an error, or zeros (materialize_grads), or None (allow_unused)."""
    for i, (t, g) in enumerate(zip(inputs, captured)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                captured[i] = t._make(t._be.full(t._data.shape, 0, t._dtype)).requires_grad_(create_graph)
    return tuple(captured) if keys is None else dict(zip(keys, captured))


def _inputs_tuple(Tensor, inputs, fn):
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    elif type(inputs) is dict:
        inputs = tuple(inputs.values())
    elif isinstance(inputs, Mapping):
        raise TypeError(f"`inputs` argument to `{fn}()` must be a dict, not {type(inputs).__name__}. Other Mapping "
                        "types are not supported.")
    else:
        inputs = tuple(inputs)
    if not inputs:
        raise RuntimeError(f"`inputs` argument to `{fn}()` cannot be empty.")
    return inputs


def _make_grads(Tensor, outputs, grads, create_graph):
    """The root gradients, as PyTorch's _make_grads: paired with the outputs as zip pairs them (a longer
    sequence is cut, a shorter one fails later on the count), ones for scalar outputs left None.
    Returned as they travel: Tensors with create_graph, else their backend arrays."""
    if grads is None:
        grads = (None,) * len(outputs)
    elif isinstance(grads, Tensor):
        grads = (grads,)
    made = []
    for i, (t, g) in enumerate(zip(outputs, grads)):
        if not isinstance(t, Tensor):
            raise AssertionError("Expected output to be a tritongrad.Tensor")
        if g is None:
            if t._requires_grad:
                shape = t._data.shape
                if shape.count(1) != len(shape):  # NOTE: numel() != 1, without the call
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if not t._dtype.is_floating_point:
                    raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {t.dtype}")
                g = t._be.full(shape, 1, t._dtype)
                made.append(Tensor._make(g) if create_graph else g)
                continue
        elif not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
        elif g.shape != t.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {_size(g.shape)} and "
                               f"output[{i}] has a shape of {_size(t.shape)}.")
        elif g.device != t.device:
            raise RuntimeError(f"invalid gradient at index {i} - expected device {t.device} but got {g.device}")
        elif g._dtype is not t._dtype:
            g = g.to(t._dtype)  # NOTE: as PyTorch's engine casts what flows into a node to its input's dtype
        made.append(g if create_graph or g is None else g._data)
    return made


def check_outputs(outputs, grads):
    """One gradient per output, and every output in a graph (PyTorch's order: after _make_grads)."""
    if len(grads) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grads)} gradients")
    for i, t in enumerate(outputs):
        if not t._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")


def arrival_points(Tensor, inputs, accumulate):
    """Check each input (after the outputs) and return where its gradient arrives: (its grad_fn, its
    output_nr), or (its AccumulateGrad, 0), or (None, 0) if nothing can reach it. accumulate: backward(inputs=),
    whose non-leaf inputs get their `.grad` filled as a retained grad."""
    points = []
    for t in inputs:
        if not isinstance(t, Tensor):
            raise RuntimeError(f"all inputs have to be Tensors or GradientEdges, but got {type(t).__name__}")
        if accumulate:
            t.retain_grad()  # NOTE: as PyTorch, before the requires_grad check below
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        points.append((t._grad_fn, t._output_nr) if t._grad_fn is not None else (t._accumulator(create=False), 0))
    return points


def _size(shape):
    return f"tritongrad.Size([{', '.join(str(s) for s in shape)}])"


def _warn_create_graph():
    global _warned_create_graph
    if not _warned_create_graph:
        _warned_create_graph = True
        # NOTE: stacklevel: here, backward_args, engine.backward, Tensor.backward, its caller
        warnings.warn(CREATE_GRAPH_WARNING, UserWarning, stacklevel=5)
