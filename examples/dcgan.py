"""A DCGAN (Radford et al., 2016) on MNIST with ember, its samples scored by a LeNet-5 classifier.

    python examples/dcgan.py --data-dir ../shared/data/mnist --epochs 5   # the run measured below
    python examples/dcgan.py --smoke                    # seconds, on random images

--data-dir is a folder holding the four MNIST .gz files (or a torchvision-style root). The
generator maps 100 Gaussian numbers through transposed convolutions (1x1 -> 7x7 -> 14x14 ->
28x28, batch norm and ReLU between, tanh at the end) to an image in [-1, 1]; the discriminator
mirrors it with strided convolutions, batch norm and LeakyReLU(0.2) down to one logit. Both are
trained with binary cross-entropy (on logits: the same loss as sigmoid + BCELoss, without log(0)
when the discriminator saturates) and Adam(2e-4, betas=(0.5, 0.999)), weights drawn from
N(0, 0.02) as in the paper; the generator maximizes log D(G(z)) (the non-saturating loss).

Sample quality: a LeNet-5 trained on the real digits (--classifier-epochs, or loaded with
--classifier PATH) classifies --num-samples generated images; reported are its mean max-softmax
confidence and an Inception-Score-like figure exp(E_x[KL(p(y|x) || p(y))]) (1 when every image
gets the same prediction, 10 when each is classified confidently and the ten digits are equally
frequent), with the same figures on the real test images as the reference.

Each epoch saves a grid of 64 samples from fixed noise; the two losses are logged every
--log-interval iterations and plotted at the end.

Measured (seed 0, batch 128, then a one-epoch LeNet-5 classifier at 97.3-97.5% test accuracy,
scoring 10,000 generated images; the real test images score a confidence of 0.965-0.968 and
8.88-8.99):
  --epochs 5 (2,345 steps, 977 s on 2 CPU cores, OPENBLAS_NUM_THREADS=1):
      mean confidence 0.803, Inception-Score-like figure 5.44; the samples are mostly legible
      digits, some still malformed.
  --epochs 1 (469 steps, 521 s under heavier load): 0.696 and 3.65; digit-like strokes, not yet
      clean digits.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ember  # noqa: E402
from ember import nn  # noqa: E402
from ember.nn import functional as F  # noqa: E402
from ember.train import History  # noqa: E402
from ember.vision import models  # noqa: E402
from ember.vision.utils import save_image  # noqa: E402

from vae import load_images  # noqa: E402  (the MNIST splits as tensors; shared with the VAE example)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data/mnist", help="folder holding the MNIST .gz files")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--nz", type=int, default=100, help="noise dimensions")
    parser.add_argument("--ngf", type=int, default=64, help="generator width (feature maps of its last layer)")
    parser.add_argument("--ndf", type=int, default=64, help="discriminator width (feature maps of its first layer)")
    parser.add_argument("--limit", type=int, default=0, help="use only this many training images (0: all)")
    parser.add_argument("--log-interval", type=int, default=50, help="iterations between loss log points")
    parser.add_argument("--classifier", default=None, help="a LeNet-5 checkpoint to score samples with "
                        "(one this script saved); without it, one is trained")
    parser.add_argument("--classifier-epochs", type=int, default=1)
    parser.add_argument("--num-samples", type=int, default=10000, help="generated images to score")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs", help="folder for the checkpoints, curves and sample grids")
    parser.add_argument("--smoke", action="store_true",
                        help="a few seconds on 256 random images (FakeData), 1 epoch: checks the pipeline")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.limit, args.num_samples, args.log_interval = 1, 256, 200, 1
    return args


class Generator(nn.Module):
    """Shape: z (B, nz) -> images (B, 1, 28, 28) in [-1, 1]."""

    def __init__(self, nz: int = 100, ngf: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 7, 1, 0, bias=False),       # (B, 2 ngf, 7, 7)
            nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),      # (B, ngf, 14, 14)
            nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False),            # (B, 1, 28, 28)
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z.reshape(len(z), -1, 1, 1))


class Discriminator(nn.Module):
    """Shape: images (B, 1, 28, 28) -> logits (B,) of "real"."""

    def __init__(self, ndf: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False),                     # (B, ndf, 14, 14); no batch norm on
            nn.LeakyReLU(0.2, True),                                    # the input layer (the paper's advice)
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),               # (B, 2 ndf, 7, 7)
            nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=False),                 # (B, 1, 1, 1)
        )

    def forward(self, x):
        return self.net(x).flatten()


def init_weights(module: nn.Module) -> None:
    """The paper's initialisation: convolutions from N(0, 0.02), batch-norm scales from N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def inception_score(probs) -> float:
    """exp(E_x[KL(p(y|x) || p(y))]) for class probabilities ``probs`` (N, classes), p(y) their
    mean: 1 when all rows agree, the number of classes when rows are one-hot and balanced.
    Zero probabilities contribute 0 (x log x -> 0); the clamp only keeps 0 * log 0 from being nan."""
    marginal = probs.mean(0, keepdim=True)
    kl = (probs * (probs.clamp_min(1e-12).log() - marginal.clamp_min(1e-12).log())).sum(1)
    return math.exp(kl.mean().item())


@ember.no_grad()
def class_probabilities(classifier: nn.Module, images, batch_size: int = 1000):
    classifier.eval()
    return ember.cat([classifier(images[i:i + batch_size]).softmax(1) for i in range(0, len(images), batch_size)])


def score(classifier: nn.Module, images) -> dict[str, float]:
    """The classifier's mean max-softmax confidence and the Inception-Score-like figure on ``images``."""
    probs = class_probabilities(classifier, images)
    return {"confidence": probs.max(1).values.mean().item(), "inception_score": inception_score(probs)}


def train_classifier(images, labels, test_images, test_labels, epochs: int, batch_size: int = 128) -> nn.Module:
    """LeNet-5 on the real digits (scaled to [-1, 1] like the generator's output), Adam 1e-3."""
    classifier = models.lenet5(num_classes=10)
    optimizer = ember.optim.Adam(classifier.parameters(), lr=1e-3)
    for epoch in range(1, epochs + 1):
        classifier.train()
        order = ember.randperm(len(images))
        for start in range(0, len(images), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(classifier(images[idx]), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        acc = (class_probabilities(classifier, test_images).argmax(1) == test_labels).float().mean().item()
        print(f"classifier epoch {epoch}/{epochs}: test accuracy {acc:.2%}", flush=True)
    return classifier


def main(argv: list[str] | None = None) -> dict:
    """Train the GAN, save sample grids, curves and checkpoints, and score the samples."""
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    train_x, train_y, test_x, test_y = load_images(args.data_dir, args.smoke, args.limit)
    train_x, test_x = train_x * 2 - 1, test_x * 2 - 1  # the generator's tanh range
    os.makedirs(args.out, exist_ok=True)

    netG, netD = Generator(args.nz, args.ngf), Discriminator(args.ndf)
    netG.apply(init_weights)
    netD.apply(init_weights)
    print(netG, netD, sep="\n")
    optG = ember.optim.Adam(netG.parameters(), lr=args.lr, betas=(0.5, 0.999))
    optD = ember.optim.Adam(netD.parameters(), lr=args.lr, betas=(0.5, 0.999))
    criterion = nn.BCEWithLogitsLoss()
    fixed_noise = ember.randn(64, args.nz)

    curves, grids, it = History(), [], 0
    window = {"loss_D": 0.0, "loss_G": 0.0, "D(x)": 0.0, "D(G(z))": 0.0, "n": 0}
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        netG.train()
        netD.train()
        order = ember.randperm(len(train_x))
        for first in range(0, len(train_x), args.batch_size):
            real = train_x[order[first:first + args.batch_size]]
            ones, zeros = ember.ones(len(real)), ember.zeros(len(real))
            fake = netG(ember.randn(len(real), args.nz))
            # discriminator: real -> 1, fake -> 0 (the fake detached: this step leaves G alone)
            real_logits, fake_logits = netD(real), netD(fake.detach())
            loss_D = criterion(real_logits, ones) + criterion(fake_logits, zeros)
            optD.zero_grad()
            loss_D.backward()
            optD.step()
            # generator: make the updated discriminator call the same fakes real
            loss_G = criterion(netD(fake), ones)
            optG.zero_grad()
            loss_G.backward()
            optG.step()

            it += 1
            for key, value in (("loss_D", loss_D.item()), ("loss_G", loss_G.item()),
                               ("D(x)", real_logits.sigmoid().mean().item()),
                               ("D(G(z))", fake_logits.sigmoid().mean().item())):
                window[key] += value
            window["n"] += 1
            if it % args.log_interval == 0:
                means = {k: v / window["n"] for k, v in window.items() if k != "n"}
                curves.append(it, means)
                window = dict.fromkeys(window, 0.0)
                print(f"epoch {epoch} iter {it:5d}  loss_D {means['loss_D']:.3f}  loss_G {means['loss_G']:.3f}  "
                      f"D(x) {means['D(x)']:.2f}  D(G(z)) {means['D(G(z))']:.2f}  "
                      f"({time.perf_counter() - start:.0f}s)", flush=True)
        netG.eval()
        with ember.no_grad():
            grid = os.path.join(args.out, f"dcgan_samples_{epoch:02d}.png")
            save_image(netG(fixed_noise), grid, nrow=8, normalize=True, value_range=(-1, 1))
        grids.append(grid)
    elapsed = time.perf_counter() - start
    print(f"{args.epochs} epochs in {elapsed:.0f}s ({elapsed / max(1, args.epochs):.0f} s/epoch)")

    ckpt = os.path.join(args.out, "dcgan.ember")
    ember.save({"generator": netG.state_dict(), "discriminator": netD.state_dict(), "args": vars(args),
                "history": curves.state_dict()}, ckpt)
    png = curves.plot(os.path.join(args.out, "dcgan_curves.png"), keys=["loss_D", "loss_G"],
                      title="DCGAN on MNIST (means over each logging interval)", x="iteration")

    if args.classifier:
        classifier = models.lenet5(num_classes=10)
        classifier.load_state_dict(ember.load(args.classifier))
    else:
        classifier = train_classifier(train_x, train_y, test_x, test_y, args.classifier_epochs)
        ember.save(classifier.state_dict(), os.path.join(args.out, "dcgan_lenet5.ember"))
    with ember.no_grad():
        netG.eval()
        samples = ember.cat([netG(ember.randn(min(1000, args.num_samples - i), args.nz))
                             for i in range(0, args.num_samples, 1000)])
    generated, real = score(classifier, samples), score(classifier, test_x)
    print(f"LeNet-5 on {len(samples)} generated images: mean confidence {generated['confidence']:.3f}, "
          f"inception-like score {generated['inception_score']:.2f}; on {len(test_x)} real test images: "
          f"{real['confidence']:.3f}, {real['inception_score']:.2f}")
    print(f"checkpoint {ckpt}; curves {png}; samples {', '.join(grids)}")
    return {"history": curves, "generated": generated, "real": real, "seconds": elapsed,
            "pngs": [png, *grids], "checkpoint": ckpt}


if __name__ == "__main__":
    main()
