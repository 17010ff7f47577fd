"""LeNet-5 on MNIST with ember.

    python examples/mnist.py --data-dir ../shared/data/mnist

--data-dir is a torchvision-style root (DATA/MNIST/raw/...) or a folder holding the
four MNIST files; with neither, the files are downloaded (checksums verified) into it.
The default run (10 epochs, Adam, learning rate halved every 3 epochs) reaches
99.25% test accuracy (seed 0). Measured here: 20 minutes on 2 CPU cores that
other jobs were sharing (about 2 minutes an epoch).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ember  # noqa: E402
from ember import nn  # noqa: E402
from ember.utils.data import DataLoader  # noqa: E402
from ember.vision import datasets, models, transforms  # noqa: E402

from common import fit, hold_out, image_sets, parse_args  # noqa: E402


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], epochs=10, batch_size=128, lr=1e-3, data_dir="data")
    ember.manual_seed(args.seed)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set, _, test_set = image_sets(args, datasets.MNIST, (1, 28, 28), transform, transform)
    train_set, val_set = hold_out(train_set, args.val_split, args.seed, args.limit)

    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers)
    val_loader = val_set and DataLoader(val_set, batch_size=1000, num_workers=args.workers)
    test_loader = DataLoader(test_set, batch_size=1000, num_workers=args.workers)

    model = models.lenet5(num_classes=10)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = ember.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    print(model)
    fit(model, train_loader, val_loader, test_loader, nn.CrossEntropyLoss(), optimizer, args.epochs, args.out,
        "mnist_lenet5", scheduler=scheduler, compile=args.compile,
        channels_last=args.channels_last)


if __name__ == "__main__":
    main()
