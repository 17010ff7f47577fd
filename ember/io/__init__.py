"""Weights in and out of ember: safetensors files, PyTorch checkpoints and ONNX models."""
from .safetensors import load_file, load_safetensors, save_file, save_safetensors
from .torch_format import UnsafeCheckpointError, load_torch, save_torch

__all__ = ["save_safetensors", "load_safetensors", "save_file", "load_file", "load_torch", "save_torch",
           "UnsafeCheckpointError"]
