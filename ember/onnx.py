"""``ember.onnx.export``: ONNX files from ember models (implemented in :mod:`ember.io.onnx_export`)."""
from .io.onnx_export import export

__all__ = ["export"]
