"""functional_call: run a module with some parameters and buffers replaced."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any

__all__ = ["functional_call"]

_MISSING = object()


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with the named parameters and buffers (``"layer.weight"``
    keys, as in ``state_dict``) replaced by the given tensors for the duration of the call;
    the originals are back afterwards, also when the call raises.

    Args:
        parameter_and_buffer_dicts: a dict, or a tuple/list of dicts with distinct keys.
        args: one argument, or a tuple of positional arguments.
        tie_weights: a tensor the module holds under several names (tied weights) is
            replaced under all of them when only one name is given.
        strict: every parameter and buffer must be given, and no other name.
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        values = dict(parameter_and_buffer_dicts)
    else:
        values = {}
        for d in parameter_and_buffer_dicts:
            overlap = set(values) & set(d)
            if overlap:
                raise ValueError(f"{sorted(overlap)} appeared in multiple dictionaries; behavior of "
                                 "functional call is ambiguous")
            values.update(d)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize(module, values, tie_weights, strict):
        return module(*args, **(kwargs or {}))


def _named_tensors(module) -> dict:
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    return named


def _with_tied(module, values: dict) -> dict:
    """``values`` plus every other name of a tensor that was given under one of its names."""
    by_id: dict = {}
    for name, t in _named_tensors(module).items():
        by_id.setdefault(id(t), []).append(name)
    out = dict(values)
    for names in by_id.values():
        given = [n for n in names if n in values]
        if not given:
            continue
        if any(values[n] is not values[given[0]] for n in given[1:]):
            raise ValueError(f"functional_call got multiple values for keys {given}, which are "
                             "tied. Consider using tie_weights=False")
        for n in names:
            out.setdefault(n, values[given[0]])
    return out


@contextmanager
def _reparametrize(module, values: dict, tie_weights: bool, strict: bool):
    if strict:
        names = set(_named_tensors(module))
        missing, unexpected = sorted(names - set(values)), sorted(set(values) - names)
        if missing or unexpected:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n"
                               f"\tUnexpected key(s): {unexpected}.\n\tMissing key(s): {missing}.")
    if tie_weights:
        values = _with_tied(module, values)
    swapped = []
    try:
        for name, value in values.items():
            owner, _, attr = name.rpartition(".")
            sub = module.get_submodule(owner) if owner else module
            for registry in (sub._parameters, sub._buffers):
                if attr in registry:
                    swapped.append((registry, attr, registry[attr]))
                    registry[attr] = value
                    break
            else:
                # a name the module does not hold: a plain attribute for the call's duration
                swapped.append((sub, attr, sub.__dict__.get(attr, _MISSING)))
                object.__setattr__(sub, attr, value)
        yield
    finally:
        for target, attr, old in reversed(swapped):
            if isinstance(target, dict):
                target[attr] = old
            elif old is _MISSING:
                object.__delattr__(target, attr)
            else:
                object.__setattr__(target, attr, old)
