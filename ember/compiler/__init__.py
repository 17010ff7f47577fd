"""torch.compile's place: ``ember.compile`` captures the ops a call runs into a graph, then
replays that graph on later calls with no Python of the model in between.

What a replay runs is what eager ember ran, op by op (random draws included), except that
runs of element-wise ops are fused into one compiled loop each (``fusion.py``), and a batch
norm read only by a ReLU becomes one op (``pairs.py``), each computing as the eager ops do;
so results match eager ember's. A CNN's convolutions are computed channels-last
(``layout.py``, inductor's ``layout_optimization``): its results are then eager's on the
input laid out channels-last, bit for bit. Guards re-capture when
the inputs' shapes, dtypes, devices or requires_grad, the other arguments, grad or autocast
mode, a module's attributes, or the globals and closure variables the code reads change;
code that hands tensor values to Python (``.item()``, ``if t.sum() > 0:``) or works around
ember's ops is detected and runs eagerly instead, with one warning (see ``compiled.py``).
Python side effects the guards do not see (a print, a counter on a class, an append to a
list that helper code keeps) run only while a call is captured: the first two calls of each
input signature. Lists, dicts and numbers the compiled code reads are guarded by value, so
changing them captures again.
"""
from __future__ import annotations

import functools

from ..autograd import capture as _hook
from . import compiled as _compiled
from .compiled import Compiled

__all__ = ["compile", "reset", "disable", "is_compiling", "is_dynamo_compiling", "list_backends"]

_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
_BACKENDS = ("inductor", "eager", "aot_eager", "cudagraphs")


def compile(model=None, *, fullgraph: bool = False, dynamic: bool | None = None, backend=None,
            mode: str | None = None, options: dict | None = None, name: str | None = None,
            disable: bool = False, recompile_limit: int | None = None, **unused):
    """Compile a module or function: ``model = ember.compile(model)``, ``@ember.compile``,
    ``@ember.compile(fullgraph=True)``.

    Args:
        fullgraph: raise instead of running eagerly when a call cannot be captured whole.
        dynamic: accepted; ember captures one graph per input signature (static shapes).
        backend: "inductor" (the default) and "cudagraphs" fuse runs of element-wise ops into
            one compiled loop (fusion.py); "eager" and "aot_eager" replay the ops as they are.
        mode, options: PyTorch's names are accepted (every mode replays the same captured
            graph); an unknown mode raises as PyTorch does. ``options={"layout_optimization":
            False}`` keeps convolutions in the model's own layout (layout.py), which makes a
            replay's values eager's bit for bit.
        disable: return ``model`` itself.
        recompile_limit: how many input signatures to keep graphs for (default 8); calls with
            more run eagerly.
    """
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, name=name, disable=disable,
                                 recompile_limit=recompile_limit)
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    _check(backend, mode, options)
    if disable:
        return model
    from ..nn.modules.module import Module
    if isinstance(model, Module):
        from .module import OptimizedModule
        return OptimizedModule(model, compiled_call(model, fullgraph=fullgraph, backend=backend,
                                                    recompile_limit=recompile_limit, options=options))
    owner = getattr(model, "__self__", None)  # model.forward: guarded as the module it is
    compiled = Compiled(model, module=owner if isinstance(owner, Module) else None, fullgraph=fullgraph,
                        name=name, limit=recompile_limit, fuse=_fuses(backend),
                        channels_last=_layout_optimization(options))

    @functools.wraps(model)
    def run(*args, **kwargs):
        return compiled(*args, **kwargs)
    run._ember_compiled = compiled
    return run


def compiled_call(module, *, fullgraph: bool = False, dynamic=None, backend=None, mode=None,
                  options=None, disable: bool = False, recompile_limit: int | None = None, **unused):
    """The compiled call of ``module`` (for Module.compile and OptimizedModule), or None
    with ``disable=True``."""
    _check(backend, mode, options)
    if disable:
        return None
    from ..nn.modules.module import Module
    return Compiled(functools.partial(Module._call_eager, module), module=module,
                    fullgraph=fullgraph, name=type(module).__name__, limit=recompile_limit,
                    fuse=_fuses(backend), channels_last=_layout_optimization(options))


def _fuses(backend) -> bool:
    """Whether element-wise runs are fused: not with PyTorch's backends that run the captured
    graph's ops as they are ("eager", "aot_eager")."""
    return backend not in ("eager", "aot_eager")


def _layout_optimization(options) -> bool:
    """Inductor's ``layout_optimization`` option (default True): convolutions computed
    channels-last inside the graph (layout.py)."""
    return bool((options or {}).get("layout_optimization", True))


def _check(backend, mode, options) -> None:
    """PyTorch's checks of compile's arguments, and ember's of the backend."""
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified "
                           "at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
    if backend is not None and not callable(backend) and backend not in _BACKENDS:
        raise RuntimeError(f"ember.compile: unknown backend {backend!r}; ember accepts "
                           f"{', '.join(_BACKENDS)}, which all replay ember's captured graph")
    if callable(backend):
        raise NotImplementedError(
            "ember.compile: custom backends receive a torch.fx graph, which ember does not make; "
            "use a named backend such as 'inductor'")


def reset() -> None:
    """Forget every captured graph (torch.compiler.reset)."""
    for ref in _compiled.ALL:
        c = ref()
        if c is not None:
            c.reset()
    _compiled.ALL[:] = [r for r in _compiled.ALL if r() is not None]


def disable(fn=None, recursive: bool = True, reason: str | None = None):
    """Keep ``fn`` out of compiled graphs: a compiled call that reaches it runs eagerly (a
    graph break). ``disable()`` with no function is a decorator."""
    if fn is None:
        return functools.partial(disable, recursive=recursive, reason=reason)

    @functools.wraps(fn)
    def eager(*args, **kwargs):
        _hook.graph_break(f"{getattr(fn, '__qualname__', fn)} is marked ember.compiler.disable"
                          + (f" ({reason})" if reason else ""))
        return fn(*args, **kwargs)
    return eager


def is_compiling() -> bool:
    """Whether a compiled call is being captured right now."""
    return _hook.TRACER is not None


is_dynamo_compiling = is_compiling


def list_backends(exclude_tags=()) -> list:
    return sorted(_BACKENDS)
