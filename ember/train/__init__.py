"""ember.train: a Trainer for the common supervised loop, with callbacks, history plots,
progress bars, TensorBoard event files and resumable checkpoints."""
from .callbacks import (
    Callback, CSVLogger, EarlyStopping, LambdaCallback, LearningRateMonitor, ModelCheckpoint,
    TerminateOnNaN,
)
from .checkpoint import capture_rng_state, load_checkpoint, restore_rng_state, save_checkpoint
from .history import History
from .live_plot import LivePlot
from .progress import ProgressBar
from .tensorboard import SummaryWriter, TensorBoard, read_events
from .trainer import Trainer, fit

__all__ = ["Trainer", "fit", "History", "ProgressBar", "Callback", "LambdaCallback", "EarlyStopping",
           "ModelCheckpoint", "LearningRateMonitor", "LivePlot", "TerminateOnNaN", "CSVLogger", "TensorBoard",
           "SummaryWriter", "read_events", "save_checkpoint", "load_checkpoint", "capture_rng_state",
           "restore_rng_state"]
