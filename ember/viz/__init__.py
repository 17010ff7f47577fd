"""Seeing the network: autograd graphs, model diagrams, training diagnostics, and plots of
filters, feature maps, activations, gradients and decision regions."""
from .diagnostics import TrainingDiagnostics
from .graph import draw_graph
from .inspect import (plot_decision_boundary, show_activations, show_feature_maps, show_filters,
                      show_gradients)
from .model_graph import draw_model

__all__ = ["draw_graph", "draw_model", "TrainingDiagnostics", "show_filters", "show_feature_maps",
           "show_activations", "show_gradients", "plot_decision_boundary"]
