"""What the example tests share: loading an example script as a module, and checking a PNG."""
import importlib.util
import os

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def load_example(name: str):
    """examples/<name>.py as a fresh module (its main() and helpers callable from a test)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_png(path) -> None:
    """``path`` holds a PNG (each example saves its curves or images)."""
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n", path
