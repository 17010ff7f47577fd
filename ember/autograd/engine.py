"""The backward pass: walks the graph from the outputs to the leaves without recursion.

Nodes run in dependency order (a node runs once every node that feeds it a gradient
has run), so each node sees the sum of all gradients for its outputs. Broadcasting
is undone here, once, for every op: a gradient whose shape differs from its input's
is summed back to that shape.
"""
from __future__ import annotations

from typing import Sequence

from .._layout import copy_ordered, memory_order, preserve_format, same_layout
from .._tensor import Tensor  # the engine is first imported by a backward call, after Tensor exists
from ..backend.compat import loud, quiet
from ..backend.device import xp_of
from ..backend.dtypes import from_numpy_dtype
from ..ops.reduce import sum_to_size
from .function import Function
from .grad_mode import state


def run_backward(roots, root_grads, retain_graph: bool, create_graph: bool,
                 inputs: Sequence | None = None, accumulate: bool = True, allow_unused: bool = True):
    """Propagate ``root_grads`` from ``roots``.

    With ``accumulate`` the gradients of leaves go to their ``.grad`` (restricted to
    ``inputs`` when given); otherwise the gradients of ``inputs`` are returned.
    """
    # Where the gradient of each requested input will appear.
    capture = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            key = id(t) if t.grad_fn is None else (t.grad_fn, t._output_nr)
            capture.setdefault(key, []).append(i)
    captured = [None] * (len(inputs) if inputs is not None else 0)

    buffers: dict = {}
    leaf_grads: dict = {}
    for t, g in zip(roots, root_grads):
        if t.grad_fn is not None:
            _add_to_buffer(buffers, t.grad_fn, t._output_nr, g)
        else:
            _add_leaf(leaf_grads, t, g)

    # With requested inputs, only nodes on a path to one of them run (autograd.grad stops there).
    runs, keep = _nodes_to_run(buffers, capture) if inputs is not None else (None, None)
    deps, leaf_deps = _count_dependencies(buffers, runs, keep)
    ready = [n for n in buffers if deps.get(n, 0) == 0]
    stored_arrays = {id(g._data) for g in root_grads}  # the caller's arrays: never kept as .grad

    def finish_leaf(t, g) -> None:
        """A leaf's gradient is complete: its hooks, capture, accumulation, then the hooks
        that run after accumulation."""
        if t._hooks:
            g = _call_hooks(t._hooks, g)
        for i in capture.get(id(t), ()):
            captured[i] = g
        if accumulate and (inputs is None or id(t) in capture):
            _accumulate(t, g, stored_arrays, create_graph)
            for hook in t.__dict__.get("_post_accumulate_hooks", ()):
                hook(t)

    def leaf_arrives(edge, g, node) -> None:
        """The gradient ``g`` (None: nothing flows) along ``edge`` into a leaf: once every edge
        into it has arrived, the leaf is finished (before the rest of the pass, as PyTorch
        accumulates a parameter's gradient as soon as it is ready)."""
        target = edge[0]
        if g is not None:
            _add_leaf(leaf_grads, target, _fit(g, edge[2], edge[3], node))
        key = id(target)
        if key in leaf_deps:
            leaf_deps[key] -= 1
            if leaf_deps[key] == 0 and key in leaf_grads:
                finish_leaf(*leaf_grads.pop(key))

    prev, state.enabled = state.enabled, create_graph
    token = quiet()
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            edges = node._edges
            if grads is None:  # every edge into it carried no gradient: its inputs stop waiting
                in_grads = (None,) * len(edges)
            else:
                if node._out_hooks:
                    for nr, hooks in node._out_hooks.items():
                        if grads[nr] is not None:
                            grads[nr] = _call_hooks(hooks, grads[nr])
                if node._retained:
                    for nr, ref in node._retained.items():
                        t = ref()
                        if t is not None and grads[nr] is not None:
                            t.grad = _owned(t, grads[nr], stored_arrays, create_graph)
                if capture:
                    for nr, g in enumerate(grads):
                        for i in capture.get((node, nr), ()):
                            captured[i] = g
                if runs is not None and node not in runs:
                    continue
                if node._materialize and (grads[0] is None if len(grads) == 1 else any(g is None for g in grads)):
                    grads = _zeros_for_missing(node, grads)

                producer = None if node.fuse_backward is None or create_graph else \
                    _sole_producer(node, deps, buffers, capture, runs)
                in_grads = None if producer is None else node.fuse_backward(producer, grads)
                if in_grads is not None:  # the two nodes ran as one: pass on the producer's gradients
                    if not retain_graph:
                        node._release()
                    node, edges = producer, producer._edges
                else:
                    in_grads = type(node).backward(node, *grads)
                if not retain_graph:
                    node._release()
                if not isinstance(in_grads, tuple):
                    in_grads = (in_grads,)
                if len(in_grads) < len(edges) and any(edges[len(in_grads):]):
                    raise RuntimeError(
                        f"function {node.name()} returned an incorrect number of gradients "
                        f"(expected {len(edges)}, got {len(in_grads)})")
            # Every edge counts when it is passed, with a gradient or None, so a node that got
            # gradients along only some of its edges still runs once the last arrives.
            for edge, g in zip(edges, in_grads):
                if not edge:
                    continue
                target = edge[0]
                if isinstance(target, Function):  # inline: this runs for every edge of every pass
                    if target in deps:  # else it leads to no requested input
                        if g is not None:
                            _add_to_buffer(buffers, target, edge[1], _fit(g, edge[2], edge[3], node))
                        left = deps[target] - 1
                        deps[target] = left
                        if left == 0:
                            ready.append(target)
                else:
                    leaf_arrives(edge, g, node)

        for t, g in list(leaf_grads.values()):  # roots, and leaves of requested-input passes
            finish_leaf(t, g)
    finally:
        state.enabled = prev
        loud(token)

    if not accumulate:
        for i, g in enumerate(captured):
            if g is None and not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}) appears to not have been used "
                    "in the graph. Set allow_unused=True if this is the desired behavior.")
        if not create_graph:
            captured = [None if g is None else g.detach() for g in captured]
        return tuple(captured)
    return None


def _sole_producer(node, deps: dict, buffers: dict, capture: dict, runs):
    """The node whose output is ``node``'s only differentiable input, when ``node`` is the last
    and only consumer to give it a gradient and nothing else reads that gradient (a hook,
    retain_grad, autograd.grad's inputs): then ``node.fuse_backward`` may run both backwards
    as one. None otherwise."""
    edges = [e for e in node._edges if e]
    if len(edges) != 1 or edges[0][1] != 0:
        return None
    producer = edges[0][0]
    if not isinstance(producer, Function) or deps.get(producer) != 1 or producer in buffers \
            or producer._out_hooks or producer._retained or (producer, 0) in capture \
            or (runs is not None and producer not in runs):
        return None
    return producer


def _call_hooks(hooks, g):
    """Pass ``g`` through tensor hooks; one may replace it by a tensor of the same shape and dtype."""
    for hook in hooks:
        new = hook(g)
        if new is None:
            continue
        name = getattr(hook, "__name__", type(hook).__name__)
        if not isinstance(new, Tensor):
            raise TypeError(f"hook '{name}' returned a {type(new).__name__}; a gradient hook must "
                            "return a Tensor or None")
        if new._data.dtype != g._data.dtype:
            raise RuntimeError(f"hook '{name}' has changed the type of value (was {g.type()} got "
                               f"{new.type()})")
        if new._data.shape != g._data.shape:
            raise RuntimeError(f"hook '{name}' has changed the size of value (was {list(g.shape)} "
                               f"got {list(new.shape)})")
        g = new
    return g


def _count_dependencies(buffers: dict, runs: set | None, keep: set | None) -> tuple[dict, dict]:
    """How many edges from running nodes point at each node reachable from the roots, and (for
    a whole pass, ``runs`` None) at each leaf, by id: a leaf is finished when its count is done."""
    deps: dict = {}
    leaf_deps: dict = {}
    stack = [n for n in buffers if runs is None or n in runs]
    seen = set(stack)
    while stack:
        node = stack.pop()
        for edge in node._edges:
            if not edge:
                continue
            nxt = edge[0]
            if isinstance(nxt, Function):
                deps[nxt] = deps.get(nxt, 0) + 1
                if nxt not in seen and (runs is None or nxt in runs):
                    seen.add(nxt)
                    stack.append(nxt)
            elif runs is None:
                leaf_deps[id(nxt)] = leaf_deps.get(id(nxt), 0) + 1
    if keep is not None:  # edges into nodes that neither run nor are captured carry nothing
        deps = {n: c for n, c in deps.items() if n in keep}
    return deps, leaf_deps


def _nodes_to_run(buffers: dict, capture: dict) -> tuple[set, set]:
    """Nodes with a path to a requested input (a captured leaf, or a node with a captured
    output), and those plus the captured nodes: the ones the pass must reach."""
    captured_nodes = {key[0] for key in capture if isinstance(key, tuple)}
    runs: set = set()
    done: set = set()
    stack = [(n, False) for n in buffers]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            for edge in node._edges:
                if edge and ((isinstance(edge[0], Function) and (edge[0] in runs or edge[0] in captured_nodes))
                             or (not isinstance(edge[0], Function) and id(edge[0]) in capture)):
                    runs.add(node)
                    break
            continue
        if node in done:
            continue
        done.add(node)
        stack.append((node, True))
        stack.extend((e[0], False) for e in node._edges
                     if e and isinstance(e[0], Function) and e[0] not in done)
    return runs, runs | captured_nodes


def _add_to_buffer(buffers: dict, node, nr: int, g) -> None:
    grads = buffers.get(node)
    if grads is None:
        grads = buffers[node] = [None] * _num_outputs(node)
    grads[nr] = g if grads[nr] is None else grads[nr] + g


def _add_leaf(leaf_grads: dict, t, g) -> None:
    prev = leaf_grads.get(id(t))
    leaf_grads[id(t)] = (t, g if prev is None else prev[1] + g)


def _num_outputs(node) -> int:
    arrays = node.__dict__.get("_out_meta")
    return len(arrays) if arrays is not None else 1


def _zeros_for_missing(node, grads):
    """Zero gradients, on the device of the ones present, for the outputs nothing used."""
    meta = node.__dict__["_out_meta"]
    xp = xp_of(next(g for g in grads if g is not None)._data)
    return [Tensor._make(xp.zeros(shape, dtype)) if g is None else g
            for g, (shape, dtype) in zip(grads, meta)]


def _fit(g, shape, dtype, node):
    """Sum a broadcast gradient back to its input's shape and cast it to its dtype."""
    if g._data.shape != shape:
        try:
            g = sum_to_size(g, shape)
        except ValueError:
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient: got shape "
                f"{tuple(g.shape)} but expected shape compatible with {tuple(shape)}") from None
    if g._data.dtype != dtype:
        g = g.to(from_numpy_dtype(dtype))  # edges hold array dtypes; to() takes ember dtypes
    return g


def _owned(t, g, stored_arrays: set, create_graph: bool):
    """A gradient safe to keep in ``t.grad``: never a view or an array kept elsewhere, and laid
    out as ``t`` is (PyTorch's layout contract: a channels-last weight gets a channels-last grad)."""
    if create_graph:
        return g
    arr, leaf = g._data, t._data
    if arr.base is not None or id(arr) in stored_arrays or not same_layout(arr, leaf):
        arr = copy_ordered(arr, memory_order(leaf, preserve_format))
    stored_arrays.add(id(arr))
    return Tensor._make(arr)


def _accumulate(t, g, stored_arrays: set, create_graph: bool) -> None:
    if t.grad is None:
        t.grad = _owned(t, g, stored_arrays, create_graph)
    elif create_graph or t.grad._requires_grad:
        t.grad = t.grad + g
    else:
        t.grad._data += g._data
        t.grad._vc[0] += 1
