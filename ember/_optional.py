"""Optional dependencies: one import point whose error names the extra that installs it."""
from __future__ import annotations

import importlib

# top-level module -> (the package pip installs, the ember extra that brings it)
_SOURCES = {
    "matplotlib": ("matplotlib", "plot"),
    "PIL": ("pillow", "vision"),
    "sklearn": ("scikit-learn", "demo"),
    "graphviz": ("graphviz", "viz"),
    "onnx": ("onnx", "io"),
    "safetensors": ("safetensors", "io"),
    "mpi4py": ("mpi4py", "distributed"),
    "soundfile": ("soundfile", "audio"),
    "gymnasium": ("gymnasium", "rl"),
}


def require(module: str, feature: str):
    """``module`` imported (e.g. ``"matplotlib.figure"``), or a ModuleNotFoundError that says
    which ``feature`` needs it and the one command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        top = module.split(".")[0]
        package, extra = _SOURCES[top]
        raise ModuleNotFoundError(
            f"{feature} needs {package}, which is not installed: pip install 'ember[{extra}]' "
            f"(or 'ember[all]', everything a course uses)", name=top) from error
