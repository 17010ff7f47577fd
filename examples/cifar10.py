"""ResNet-20 on CIFAR-10 with augmentation, with ember.

    python examples/cifar10.py --data-dir data

--data-dir is a torchvision-style root holding cifar-10-batches-py/ (downloaded and
checked there when missing). Random crops with 4-pixel padding and horizontal flips,
SGD with momentum and weight decay, cosine learning-rate schedule.
Not trained to convergence here: this project's machines cannot download CIFAR-10.
`--fake` runs the same pipeline on random images (one epoch of 2,000 images took
about a minute on 2 shared CPU cores); with the real data, expect roughly 8 minutes
an epoch on such a machine.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ember  # noqa: E402
from ember import nn  # noqa: E402
from ember.utils.data import DataLoader  # noqa: E402
from ember.vision import datasets, models, transforms  # noqa: E402

from common import fit, hold_out, image_sets, parse_args  # noqa: E402

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], epochs=30, batch_size=128, lr=0.1, data_dir="data")
    ember.manual_seed(args.seed)
    train_tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
                                   transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    test_tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    train_set, unaugmented, test_set = image_sets(args, datasets.CIFAR10, (3, 32, 32), train_tf, test_tf)
    train_set, val_set = hold_out(train_set, args.val_split, args.seed, args.limit, eval_view=unaugmented)

    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers)
    val_loader = val_set and DataLoader(val_set, batch_size=1000, num_workers=args.workers)
    test_loader = DataLoader(test_set, batch_size=500, num_workers=args.workers)

    model = models.resnet20(num_classes=10)
    optimizer = ember.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    scheduler = ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    print(f"ResNet-20: {sum(p.numel() for p in model.parameters()):,} parameters")
    fit(model, train_loader, val_loader, test_loader, nn.CrossEntropyLoss(), optimizer, args.epochs, args.out,
        "cifar10_resnet20", scheduler=scheduler, compile=args.compile,
        channels_last=args.channels_last)


if __name__ == "__main__":
    main()
