"""The ``ember`` command: ``ember demo``, ``ember summary``, ``ember train`` and ``ember eval``.

    ember summary resnet18
    ember train --model lenet5 --dataset mnist --data-dir data --epochs 2 --out runs/mnist
    ember eval runs/mnist/checkpoint.ember --dataset mnist --data-dir data
"""
from __future__ import annotations

import argparse
import os
import time

import ember
from ember import nn
from ember.utils.data import DataLoader, Subset

from .._optional import require
from .zoo import DATASETS, MODELS, Shape, adapt

CHECKPOINT = "checkpoint.ember"
CURVES = "curves.png"


def _names(table: dict) -> str:
    return "\n".join(f"  {name:16s} {spec.description}" for name, spec in table.items())


class _Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Epilogs as written, and each option's default after its help (options without one
    say in their help what happens when they are not given)."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ember`` command and its subcommands."""
    parser = argparse.ArgumentParser(prog="ember", description="ember: deep learning with PyTorch's API on NumPy.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"ember {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("demo", add_help=False,
                        help="train an MLP on scikit-learn's digits (options: ember demo --help)")
    commands.add_parser("run", add_help=False,
                        help="start a distributed job with torchrun's flags, as python -m ember.distributed.run "
                             "(ember run --help)")

    summary = commands.add_parser("summary", help="print a zoo model's layers and parameter counts",
                                  formatter_class=_Help,
                                  epilog="models:\n" + _names(MODELS))
    summary.add_argument("model", choices=MODELS, metavar="MODEL", help="a model name (listed below)")
    summary.add_argument("--input-size", type=int, nargs=3, metavar=("C", "H", "W"),
                         help="input image shape (when not given: the model's usual one)")
    summary.add_argument("--num-classes", type=int, default=10, help="outputs of the classifier")
    summary.set_defaults(run=_summary, subparser=summary)

    train = commands.add_parser("train", help="train a zoo model on a data set; saves a checkpoint and curves",
                                formatter_class=_Help,
                                epilog="models:\n" + _names(MODELS) + "\ndata sets:\n" + _names(DATASETS))
    train.add_argument("--model", default="lenet5", choices=MODELS, metavar="MODEL", help="a model (listed below)")
    train.add_argument("--dataset", default="mnist", choices=DATASETS, metavar="DATASET",
                       help="a data set (listed below)")
    _add_data_args(train)
    train.add_argument("--epochs", type=int, default=2, help="passes over the training set")
    train.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    train.add_argument("--optimizer", default="adam", choices=["adam", "sgd"], help="adam, or sgd with momentum 0.9")
    train.add_argument("--seed", type=int, default=0, help="seed of the weights and the shuffling")
    train.add_argument("--limit", type=int, default=0, help="use only this many training images (0: all of them)")
    train.add_argument("--val-split", type=float, default=0.1,
                       help="fraction of the training images held out for validation each epoch (0: none); "
                            "the test set is evaluated once, after training")
    train.add_argument("--out", default=None,
                       help=f"folder for {CHECKPOINT} and {CURVES} (when not given: a new runs/MODEL-DATASET-TIME)")
    train.set_defaults(run=_train, subparser=train)

    evaluate = commands.add_parser("eval", help="report a checkpoint's loss and accuracy on a data set",
                                   formatter_class=_Help,
                                   epilog="data sets:\n" + _names(DATASETS))
    evaluate.add_argument("checkpoint", help=f"a {CHECKPOINT} written by ember train")
    evaluate.add_argument("--dataset", default=None, choices=DATASETS, metavar="DATASET",
                          help="the data set the checkpoint was trained on (when not given: that one; another is refused)")
    _add_data_args(evaluate, data_dir=None)
    evaluate.add_argument("--limit", type=int, default=0, help="use only this many test images (0: all)")
    evaluate.set_defaults(run=_eval, subparser=evaluate)

    from ..playground import launch as playground_launch
    playground = commands.add_parser("playground", formatter_class=_Help,
                                     help="a local web page that trains small networks on 2-D data as you watch")
    playground_launch.add_arguments(playground)
    playground.set_defaults(run=playground_launch.run, subparser=playground)
    return parser


def _add_data_args(parser: argparse.ArgumentParser, data_dir: str | None = "data") -> None:
    parser.add_argument("--data-dir", default=data_dir, metavar="DATA",
                        help="the folder holding the data set's files, or a torchvision-style root "
                             "(DATA/MNIST/raw/...); missing files are downloaded into DATA/<Name>/raw/"
                             + ("" if data_dir else " (when not given: where the checkpoint's training data was)"))
    parser.add_argument("--batch-size", type=int, default=128, help="images per batch")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (gpu) on an NVIDIA GPU")


def _device(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """``--device``, checked before any work: one line, not a traceback, where it cannot run."""
    device = "cuda" + args.device[3:] if args.device.startswith("gpu") else args.device
    try:
        kind = ember.device(device).type
    except RuntimeError:
        _fail(parser, f"--device {args.device}: expected cpu, cuda, cuda:N or gpu")
    if kind == "cuda" and not ember.cuda.is_available():
        _fail(parser, f"--device {args.device}: no CUDA GPU can be used here (ember runs CUDA through "
                      "CuPy: pip install 'ember[cuda]' on a machine with an NVIDIA GPU); use --device cpu")
    args.device = device


def _fail(parser: argparse.ArgumentParser, message: str) -> None:
    """Exit with one line on stderr (no usage dump, no traceback), as argparse's errors do."""
    parser.exit(2, f"{parser.prog}: error: {message}\n")


def _summary(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    spec = MODELS[args.model]
    size = tuple(args.input_size) if args.input_size else spec.input_size
    if spec.accepted_size(size) != size:
        parser.error(f"{args.model} does not take inputs of shape {size}; "
                     f"try --input-size {' '.join(map(str, spec.accepted_size(size)))}")
    print(f"{args.model}, {args.num_classes} classes, for input (1, {', '.join(map(str, size))})")
    ember.summary(spec.build(args.num_classes, size), input_size=(1, *size))


def _load_split(name: str, data_dir: str, train: bool, size: Shape, limit: int, parser):
    """A data set's split, adapted to the model's input size; a missing or unreadable data
    set ends the command with the data set's own one-paragraph explanation."""
    spec = DATASETS[name]
    try:
        dataset = adapt(spec.load(data_dir, train), spec.image_size, size)
    except RuntimeError as error:
        _fail(parser, str(error))
    return Subset(dataset, range(min(limit, len(dataset)))) if limit else dataset


def _trainer(model: nn.Module, optimizer: ember.optim.Optimizer | None, args: argparse.Namespace):
    # Imported here so that ember summary and ember demo run without tqdm, which ember.train needs.
    from ember.metrics import Accuracy
    from ember.train import Trainer
    return Trainer(model, nn.CrossEntropyLoss(), optimizer, metrics={"accuracy": Accuracy()}, device=args.device,
                   seed=getattr(args, "seed", None))


def _train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from ember.train import save_checkpoint
    require("matplotlib.figure", "ember train (it saves learning curves)")  # before any work is done
    _device(args, parser)
    model_spec, data_spec = MODELS[args.model], DATASETS[args.dataset]
    size = model_spec.accepted_size(data_spec.image_size)
    ember.manual_seed(args.seed)
    try:
        train_set = _load_split(args.dataset, args.data_dir, True, size, args.limit, parser)
        test_set = _load_split(args.dataset, args.data_dir, False, size, 0, parser)
    except ValueError as error:
        parser.error(f"{args.model} on {args.dataset}: {error}")
    if not 0 <= args.val_split < 1:
        _fail(parser, f"--val-split {args.val_split}: expected a fraction in [0, 1)")
    out = args.out or os.path.join("runs", f"{args.model}-{args.dataset}-{time.strftime('%Y%m%d-%H%M%S')}")
    test_loader = DataLoader(test_set, batch_size=max(args.batch_size, 256))

    model = model_spec.build(data_spec.num_classes, size)
    if args.optimizer == "adam":
        optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    else:
        optimizer = ember.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    n_params = sum(p.numel() for p in model.parameters())
    n_val = int(round(len(train_set) * args.val_split))
    print(f"{args.model} ({n_params:,} parameters, input {size}) on {args.dataset}: "
          f"{len(train_set) - n_val} train / {n_val} validation (held out of the training set) / "
          f"{len(test_set)} test images", flush=True)

    trainer = _trainer(model, optimizer, args)
    history = trainer.fit(train_set, epochs=args.epochs, batch_size=args.batch_size,
                          validation_split=args.val_split or None)
    test = trainer.evaluate(test_loader)  # once, after training: the figure to report

    # The Trainer's whole state (resumable with Trainer.fit(resume_from=...)) plus what
    # ember eval needs to rebuild the model.
    state = trainer.state_dict()
    state["config"] = {"model": args.model, "num_classes": data_spec.num_classes, "input_size": list(size),
                       "dataset": args.dataset, "data_dir": os.path.abspath(args.data_dir),
                       "optimizer": args.optimizer, "lr": args.lr, "batch_size": args.batch_size,
                       "seed": args.seed}
    checkpoint = save_checkpoint(state, os.path.join(out, CHECKPOINT))
    curves = history.plot(os.path.join(out, CURVES), title=f"{args.model} on {args.dataset}")
    print(f"test set (evaluated once, after training): loss {test['loss']:.4f}  accuracy "
          f"{test['accuracy']:.2%}; checkpoint {checkpoint}; curves {curves}")


def _eval(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if not os.path.isfile(args.checkpoint):
        parser.error(f"checkpoint not found: {args.checkpoint}")
    state = ember.load(args.checkpoint)
    if not isinstance(state, dict) or "config" not in state or "model" not in state:
        parser.error(f"{args.checkpoint} is not a checkpoint written by ember train (no model config in it)")
    config = state["config"]
    dataset = config["dataset"]
    if args.dataset is not None and args.dataset != dataset:
        _fail(parser, f"{args.checkpoint} was trained on {dataset}; its {config['num_classes']} outputs "
                      f"mean that data set's classes, so it is not evaluated on {args.dataset}")
    _device(args, parser)
    data_dir = args.data_dir or config.get("data_dir") or "data"
    size = tuple(config["input_size"])
    model = MODELS[config["model"]].build(config["num_classes"], size)
    model.load_state_dict(state["model"])
    try:
        test_set = _load_split(dataset, data_dir, False, size, args.limit, parser)
    except ValueError as error:
        parser.error(f"{config['model']} on {dataset}: {error}")
    logs = _trainer(model, None, args).evaluate(DataLoader(test_set, batch_size=args.batch_size))
    print(f"{config['model']} on {dataset} test set ({len(test_set)} images): "
          f"loss {logs['loss']:.4f}  accuracy {logs['accuracy']:.2%}")


def main(argv: list[str] | None = None) -> int:
    """Run the ``ember`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "demo":
        from ember import demo
        demo.main(extra)
        return 0
    if args.command == "run":  # the launcher parses its own flags (torchrun's) and the script's
        from ember.distributed.run import main as launch
        return launch(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        args.run(args, args.subparser)
    except ModuleNotFoundError as missing:  # an optional dependency: its message says what to install
        _fail(args.subparser, str(missing))
    return 0
