"""Tutorial-style training techniques: transfer learning with a frozen backbone, FGSM
adversarial examples, knowledge distillation with temperature-scaled KL divergence, and a
model trained through torch.compile."""
import numpy as np

from compat_harness import as_tensor, numpy_init


def _images(torch, seed, n=32):
    """Random 1x8x8 images labelled by which diagonal half is brighter."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 1, (n, 1, 8, 8)).astype(np.float32)
    upper = np.triu(np.ones((8, 8), np.float32))
    labels = ((images * upper).sum((1, 2, 3)) > (images * (1 - upper)).sum((1, 2, 3)))
    return as_tensor(torch, images), as_tensor(torch, labels.astype(np.int64))


def transfer_learning(torch, steps):
    """A "pretrained" conv backbone (weights loaded from a state_dict) is frozen with
    requires_grad_(False) and kept in eval mode; only a new Linear head is optimized."""
    nn = torch.nn
    x, y = _images(torch, 30)

    def backbone():
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(2), nn.Flatten())

    pretrained = numpy_init(torch, backbone(), 30).state_dict()
    features = backbone()
    features.load_state_dict(pretrained)
    features.requires_grad_(False)
    features.eval()
    head = numpy_init(torch, nn.Linear(32, 2), 31)
    model = nn.Sequential(features, head)
    optimizer = torch.optim.SGD(head.parameters(), lr=0.5, momentum=0.9)
    frozen_before = [p.detach().clone() for p in features.parameters()]
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {"losses": losses,
            "frozen_unchanged": all(torch.equal(a, b) for a, b in zip(frozen_before, features.parameters())),
            "frozen_grads": [p.grad for p in features.parameters()],
            "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad)}


def fgsm(torch, steps):
    """Train a small classifier, then perturb inputs by eps * sign(d loss / d input) and
    clamp to [0, 1]: the loss on the perturbed images is higher."""
    nn, F = torch.nn, torch.nn.functional
    x, y = _images(torch, 32)
    model = numpy_init(torch, nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(),
                                            nn.Linear(32, 2)), 32)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    x_in = x.clone().requires_grad_(True)
    clean_loss = F.cross_entropy(model(x_in), y)
    model.zero_grad()
    clean_loss.backward()
    x_adv = torch.clamp(x_in + 0.1 * x_in.grad.sign(), 0, 1)
    with torch.no_grad():
        adv_loss = F.cross_entropy(model(x_adv), y)
    return {"losses": losses, "clean_loss": clean_loss.item(), "adv_loss": adv_loss.item(),
            "max_perturbation": (x_adv - x).abs().max().item()}


def distillation(torch, steps):
    """Train a teacher MLP, then a smaller student on soft targets:
    KL(log_softmax(s/T) || softmax(t/T)) * T^2 blended with hard-label cross-entropy."""
    nn, F = torch.nn, torch.nn.functional
    rng = np.random.default_rng(33)
    feats = rng.standard_normal((64, 6)).astype(np.float32)
    labels = np.argmax(feats[:, :3] + 0.5 * feats[:, 3:], axis=1)
    x, y = as_tensor(torch, feats), as_tensor(torch, labels)
    teacher = numpy_init(torch, nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 3)), 33)
    student = numpy_init(torch, nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)), 34)
    opt_t = torch.optim.Adam(teacher.parameters(), lr=1e-2)
    for _ in range(20):
        opt_t.zero_grad()
        F.cross_entropy(teacher(x), y).backward()
        opt_t.step()
    teacher.eval()
    with torch.no_grad():
        teacher_logits = teacher(x)
    temperature, alpha = 4.0, 0.7
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        logits = student(x)
        soft = F.kl_div(F.log_softmax(logits / temperature, dim=1),
                        F.softmax(teacher_logits / temperature, dim=1),
                        reduction="batchmean") * temperature ** 2
        loss = alpha * soft + (1 - alpha) * F.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {"losses": losses, "student_shape": tuple(logits.shape)}


def compiled_cnn(torch, steps):
    """torch.compile as PyTorch 2 tutorials use it: the model compiled once, then trained
    (batch norm in training mode) and evaluated; the eval-mode call is a new graph."""
    nn = torch.nn
    x, y = _images(torch, 40)
    model = numpy_init(torch, nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 2)), 40)
    compiled = torch.compile(model, backend="eager")
    optimizer = torch.optim.Adam(compiled.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(compiled(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    compiled.eval()
    with torch.no_grad():
        accuracy = (compiled(x).argmax(1) == y).float().mean().item()
    return {"losses": losses, "accuracy": accuracy,
            "state_keys": sorted(compiled.state_dict())[:3]}
