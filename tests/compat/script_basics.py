"""Tutorial-style basics: tensors and autograd, an MLP fed by a DataLoader, a small CNN,
and L-BFGS regression with a closure. Each ``run(torch, steps)`` uses only ``torch``."""
import numpy as np

from compat_harness import as_tensor, numpy_init


def tensors_autograd(torch, steps):
    """Linear regression by hand: tensors with requires_grad, backward, in-place updates
    under no_grad, grad.zero_()."""
    rng = np.random.default_rng(0)
    x = as_tensor(torch, rng.standard_normal((64, 3)))
    true_w = torch.tensor([[2.0], [-3.0], [0.5]])
    y = x @ true_w + 0.7 + 0.01 * as_tensor(torch, rng.standard_normal((64, 1)))
    w = torch.zeros(3, 1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    # A first look at autograd: d(sum(a^2))/da = 2a.
    a = torch.arange(4.0, requires_grad=True)
    (a ** 2).sum().backward()
    losses = []
    for _ in range(steps):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.grad.zero_()
        b.grad.zero_()
        losses.append(loss.item())
    return {"losses": losses, "a_grad": a.grad.numpy(), "w": w.detach().numpy()}


def mlp_dataloader(torch, steps):
    """nn.Sequential MLP classifier, TensorDataset + DataLoader, CrossEntropyLoss, SGD with
    momentum; ``steps`` epochs, mean batch loss per epoch."""
    nn = torch.nn
    rng = np.random.default_rng(1)
    features = rng.standard_normal((96, 4)).astype(np.float32)
    labels = (features[:, 0] + features[:, 1] > 0).astype(np.int64) + (features[:, 2] > 1)
    data = torch.utils.data.TensorDataset(as_tensor(torch, features), as_tensor(torch, labels))
    loader = torch.utils.data.DataLoader(data, batch_size=16, shuffle=False)
    model = numpy_init(torch, nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 3)), 1)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses, shapes = [], set()
    for _ in range(steps):
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            out = model(xb)
            shapes.add(tuple(out.shape))
            loss = criterion(out, yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
        losses.append(total / len(loader))
    model.eval()
    with torch.no_grad():
        accuracy = (model(data.tensors[0]).argmax(1) == data.tensors[1]).float().mean().item()
    return {"losses": losses, "shapes": shapes, "accuracy": accuracy}


def cnn(torch, steps):
    """Conv2d / BatchNorm2d / MaxPool2d / Flatten classifier on random 1x12x12 images whose
    label is the brighter half; Adam."""
    nn = torch.nn
    rng = np.random.default_rng(2)
    images = rng.uniform(0, 1, (32, 1, 12, 12)).astype(np.float32)
    labels = (images[:, :, :, :6].mean((1, 2, 3)) > images[:, :, :, 6:].mean((1, 2, 3)))
    x, y = as_tensor(torch, images), as_tensor(torch, labels.astype(np.int64))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(4, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2))
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32, 2))

        def forward(self, inputs):
            return self.classifier(self.features(inputs))

    model = numpy_init(torch, Net(), 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {"losses": losses, "logits_shape": tuple(logits.shape),
            "feature_shape": tuple(model.features(x[:2]).shape)}


def lbfgs_regression(torch, steps):
    """Cubic polynomial fit with optim.LBFGS and a closure that re-evaluates the loss."""
    rng = np.random.default_rng(3)
    xs = np.linspace(-1, 1, 50).astype(np.float32)
    ys = (0.5 * xs ** 3 - xs + 0.3 + 0.01 * rng.standard_normal(50)).astype(np.float32)
    features = torch.stack([as_tensor(torch, xs) ** k for k in range(4)], dim=1)
    target = as_tensor(torch, ys).unsqueeze(1)
    model = numpy_init(torch, torch.nn.Linear(4, 1, bias=False), 3)
    optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=5, history_size=10)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(features), target)
        loss.backward()
        return loss

    losses = [optimizer.step(closure).item() for _ in range(steps)]
    with torch.no_grad():
        final = torch.nn.functional.mse_loss(model(features), target).item()
    return {"losses": losses + [final], "coef": model.weight.detach().numpy()}
