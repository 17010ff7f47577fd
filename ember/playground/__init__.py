"""The playground: a local web page where a learner builds a small network, trains it on 2-D
data with ember and watches its decision boundary, neurons, losses and weights change.
Start it with ``ember playground`` or ``python -m ember.playground``."""
from .datasets import generate, parse_csv
from .server import Playground, PlaygroundServer
from .session import Config, Session, build_model

__all__ = ["Config", "Session", "build_model", "generate", "parse_csv", "Playground", "PlaygroundServer"]
