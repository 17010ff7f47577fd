"""Seeing the network: autograd graphs, model diagrams and training diagnostics."""
from .diagnostics import TrainingDiagnostics
from .graph import draw_graph
from .model_graph import draw_model

__all__ = ["draw_graph", "draw_model", "TrainingDiagnostics"]
