"""ember.vision.models against plain torch.nn replicas of torchvision's architectures.

torchvision is not installed here, so each architecture is written again below in torch.nn with
torchvision's module names; the replicas' state_dict keys and shapes must equal ember's, their
parameter counts must equal the ones torchvision publishes, and with the same weights both must
give the same outputs and gradients.
"""
import math
from functools import partial

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.vision import models
from ember.vision.models import _utils
from helpers import assert_close, check_module, copy_weights

torch = pytest.importorskip("torch")
tnn = torch.nn
tF = torch.nn.functional


# ---------------------------------------------------------------- torch.nn replicas

class TBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, width_per_group=64):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, width_per_group=64):
        super().__init__()
        width = int(planes * width_per_group / 64) * groups
        self.conv1 = tnn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(width)
        self.conv2 = tnn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = tnn.BatchNorm2d(width)
        self.conv3 = tnn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TResNet(tnn.Module):
    def __init__(self, block, layers, num_classes=1000, groups=1, width_per_group=64):
        super().__init__()
        self.inplanes, self.groups, self.width = 64, groups, width_per_group
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        self.layer1 = self._layer(block, 64, layers[0], 1)
        self.layer2 = self._layer(block, 128, layers[1], 2)
        self.layer3 = self._layer(block, 256, layers[2], 2)
        self.layer4 = self._layer(block, 512, layers[3], 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512 * block.expansion, num_classes)

    def _layer(self, block, planes, n, stride):
        out = planes * block.expansion
        down = None
        if stride != 1 or self.inplanes != out:
            down = tnn.Sequential(tnn.Conv2d(self.inplanes, out, 1, stride, bias=False), tnn.BatchNorm2d(out))
        blocks = [block(self.inplanes, planes, stride, down, self.groups, self.width)]
        self.inplanes = out
        blocks += [block(out, planes, 1, None, self.groups, self.width) for _ in range(n - 1)]
        return tnn.Sequential(*blocks)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TPadShortcut(tnn.Module):
    def __init__(self, planes):
        super().__init__()
        self.planes = planes

    def forward(self, x):
        x = x[:, :, ::2, ::2]
        return tF.pad(x, (0, 0, 0, 0, 0, self.planes - x.shape[1]))


class TCifarResNet(tnn.Module):
    def __init__(self, depth, num_classes=10, shortcut="A"):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = tnn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(16)
        self.relu = tnn.ReLU(inplace=True)
        stages, cin = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            down = None
            if stride != 1:
                down = TPadShortcut(planes) if shortcut == "A" else tnn.Sequential(
                    tnn.Conv2d(cin, planes, 1, stride, bias=False), tnn.BatchNorm2d(planes))
            stages.append(tnn.Sequential(TBasicBlock(cin, planes, stride, down),
                                         *[TBasicBlock(planes, planes) for _ in range(n - 1)]))
            cin = planes
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(64, num_classes)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x))))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


VGG_CFGS = {11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
            13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
            16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
            19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512,
                 "M"]}


class TVGG(tnn.Module):
    def __init__(self, depth, bn, num_classes=1000):
        super().__init__()
        layers, cin = [], 3
        for v in VGG_CFGS[depth]:
            if v == "M":
                layers.append(tnn.MaxPool2d(2, 2))
            else:
                layers += [tnn.Conv2d(cin, v, 3, padding=1)] + ([tnn.BatchNorm2d(v)] if bn else []) + [tnn.ReLU(True)]
                cin = v
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
        self.classifier = tnn.Sequential(tnn.Linear(25088, 4096), tnn.ReLU(True), tnn.Dropout(0.5),
                                         tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Dropout(0.5),
                                         tnn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class TAlexNet(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = tnn.Sequential(
            tnn.Conv2d(3, 64, 11, 4, 2), tnn.ReLU(True), tnn.MaxPool2d(3, 2),
            tnn.Conv2d(64, 192, 5, padding=2), tnn.ReLU(True), tnn.MaxPool2d(3, 2),
            tnn.Conv2d(192, 384, 3, padding=1), tnn.ReLU(True), tnn.Conv2d(384, 256, 3, padding=1), tnn.ReLU(True),
            tnn.Conv2d(256, 256, 3, padding=1), tnn.ReLU(True), tnn.MaxPool2d(3, 2))
        self.avgpool = tnn.AdaptiveAvgPool2d((6, 6))
        self.classifier = tnn.Sequential(tnn.Dropout(0.5), tnn.Linear(9216, 4096), tnn.ReLU(True), tnn.Dropout(0.5),
                                         tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class TLeNet5(tnn.Module):
    def __init__(self, num_classes=10, in_channels=1, padding=2):
        super().__init__()
        self.conv1 = tnn.Conv2d(in_channels, 6, 5, padding=padding)
        self.conv2 = tnn.Conv2d(6, 16, 5)
        self.fc1 = tnn.Linear(400, 120)
        self.fc2 = tnn.Linear(120, 84)
        self.fc3 = tnn.Linear(84, num_classes)

    def forward(self, x):
        x = tF.max_pool2d(tF.relu(self.conv1(x)), 2)
        x = torch.flatten(tF.max_pool2d(tF.relu(self.conv2(x)), 2), 1)
        return self.fc3(tF.relu(self.fc2(tF.relu(self.fc1(x)))))


def t_divisible(v, divisor=8):
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def t_conv_bn_act(cin, cout, k=1, stride=1, groups=1, act=tnn.ReLU6, norm=tnn.BatchNorm2d):
    layers = [tnn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), norm(cout)]
    return tnn.Sequential(*layers, *([act(inplace=True)] if act else []))


class TInvertedResidual(tnn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = int(round(cin * t))
        self.res = stride == 1 and cin == cout
        expand = [t_conv_bn_act(cin, hidden)] if t != 1 else []
        self.conv = tnn.Sequential(*expand, t_conv_bn_act(hidden, hidden, 3, stride, hidden),
                                   tnn.Conv2d(hidden, cout, 1, bias=False), tnn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.conv(x) if self.res else self.conv(x)


class TMobileNetV2(tnn.Module):
    def __init__(self, num_classes=1000, dropout=0.2):
        super().__init__()
        feats, cin = [t_conv_bn_act(3, 32, 3, 2)], 32
        for t, c, n, s in [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                           [6, 160, 3, 2], [6, 320, 1, 1]]:
            for i in range(n):
                feats.append(TInvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        feats.append(t_conv_bn_act(320, 1280))
        self.features = tnn.Sequential(*feats)
        self.classifier = tnn.Sequential(tnn.Dropout(dropout), tnn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(tF.adaptive_avg_pool2d(self.features(x), 1), 1))


class TSqueezeExcitation(tnn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc1 = tnn.Conv2d(channels, squeeze, 1)
        self.fc2 = tnn.Conv2d(squeeze, channels, 1)
        self.activation = tnn.SiLU()
        self.scale_activation = tnn.Sigmoid()

    def forward(self, x):
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x))))) * x


class TMBConv(tnn.Module):
    """MBConv without stochastic depth: compared in eval mode, or with stochastic_depth_prob=0."""

    def __init__(self, cin, cout, k, stride, t, norm):
        super().__init__()
        hidden = t_divisible(cin * t)
        expand = [t_conv_bn_act(cin, hidden, act=tnn.SiLU, norm=norm)] if hidden != cin else []
        self.block = tnn.Sequential(*expand, t_conv_bn_act(hidden, hidden, k, stride, hidden, tnn.SiLU, norm),
                                    TSqueezeExcitation(hidden, max(1, cin // 4)),
                                    t_conv_bn_act(hidden, cout, act=None, norm=norm))
        self.res = stride == 1 and cin == cout

    def forward(self, x):
        return self.block(x) + x if self.res else self.block(x)


EFFICIENTNET = {0: (1.0, 1.0), 1: (1.0, 1.1), 2: (1.1, 1.2), 3: (1.2, 1.4), 4: (1.4, 1.8), 5: (1.6, 2.2),
                6: (1.8, 2.6), 7: (2.0, 3.1)}


class TEfficientNet(tnn.Module):
    def __init__(self, variant, num_classes=1000, dropout=0.2):
        super().__init__()
        w, d = EFFICIENTNET[variant]
        norm = partial(tnn.BatchNorm2d, eps=0.001, momentum=0.01) if variant >= 5 else tnn.BatchNorm2d
        feats = [t_conv_bn_act(3, t_divisible(32 * w), 3, 2, act=tnn.SiLU, norm=norm)]
        for t, k, s, cin, cout, n in [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
                                      (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
                                      (6, 3, 1, 192, 320, 1)]:
            cin, cout = t_divisible(cin * w), t_divisible(cout * w)
            feats.append(tnn.Sequential(*[TMBConv(cin if i == 0 else cout, cout, k, s if i == 0 else 1, t, norm)
                                          for i in range(math.ceil(n * d))]))
        last = t_divisible(320 * w)
        feats.append(t_conv_bn_act(last, 4 * last, act=tnn.SiLU, norm=norm))
        self.features = tnn.Sequential(*feats)
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.classifier = tnn.Sequential(tnn.Dropout(dropout), tnn.Linear(4 * last, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# ---------------------------------------------------------------- helpers

@pytest.fixture
def skip_init(monkeypatch):
    """Make weight initialisation a no-op, for tests that only count parameters and compare
    names and shapes: filling hundreds of millions of random numbers would dominate the suite."""
    for name in ("uniform_", "normal_", "kaiming_uniform_", "kaiming_normal_", "constant_", "ones_", "zeros_"):
        monkeypatch.setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)


def assert_same_layout(e_model, t_model):
    """Same state_dict keys in the same order, with the same shapes."""
    e_sd, t_sd = e_model.state_dict(), t_model.state_dict()
    assert list(e_sd) == list(t_sd)
    for k, v in t_sd.items():
        assert tuple(e_sd[k].shape) == tuple(v.shape), k


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def randomize_norms(model, seed=0):
    """Non-trivial batch-norm weights and running statistics, so that eval mode tests them."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.2, 0.2, generator=g)
                m.running_mean.uniform_(-0.2, 0.2, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
    return model


def compare_eval(e_model, t_model, shape, atol=1e-4, rtol=1e-4, seed=0):
    """Copy ``t_model``'s weights into ``e_model`` and compare eval-mode outputs in float32."""
    t_model.to(torch.float32)
    e_model.to(ember.float32)
    copy_weights(e_model, t_model)
    e_model.eval()
    t_model.eval()
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        t_out = t_model(torch.tensor(x))
    with ember.no_grad():
        e_out = e_model(ember.tensor(x))
    scale = float(t_out.abs().max())
    assert scale > 1e-3  # the comparison below would be vacuous on an all-zero output
    assert_close(e_out, t_out, atol=atol * scale, rtol=rtol)


# ---------------------------------------------------------------- parameter counts and layouts

# (factory, torchvision's published parameter count, the replica with the same architecture)
TORCHVISION = [
    ("resnet18", 11_689_512, lambda: TResNet(TBasicBlock, [2, 2, 2, 2])),
    ("resnet34", 21_797_672, lambda: TResNet(TBasicBlock, [3, 4, 6, 3])),
    ("resnet50", 25_557_032, lambda: TResNet(TBottleneck, [3, 4, 6, 3])),
    ("resnet101", 44_549_160, lambda: TResNet(TBottleneck, [3, 4, 23, 3])),
    ("resnet152", 60_192_808, lambda: TResNet(TBottleneck, [3, 8, 36, 3])),
    ("resnext50_32x4d", 25_028_904, lambda: TResNet(TBottleneck, [3, 4, 6, 3], groups=32, width_per_group=4)),
    ("resnext101_32x8d", 88_791_336, lambda: TResNet(TBottleneck, [3, 4, 23, 3], groups=32, width_per_group=8)),
    ("wide_resnet50_2", 68_883_240, lambda: TResNet(TBottleneck, [3, 4, 6, 3], width_per_group=128)),
    ("wide_resnet101_2", 126_886_696, lambda: TResNet(TBottleneck, [3, 4, 23, 3], width_per_group=128)),
    ("vgg11", 132_863_336, lambda: TVGG(11, False)),
    ("vgg11_bn", 132_868_840, lambda: TVGG(11, True)),
    ("vgg13", 133_047_848, lambda: TVGG(13, False)),
    ("vgg13_bn", 133_053_736, lambda: TVGG(13, True)),
    ("vgg16", 138_357_544, lambda: TVGG(16, False)),
    ("vgg16_bn", 138_365_992, lambda: TVGG(16, True)),
    ("vgg19", 143_667_240, lambda: TVGG(19, False)),
    ("vgg19_bn", 143_678_248, lambda: TVGG(19, True)),
    ("alexnet", 61_100_840, TAlexNet),
    ("mobilenet_v2", 3_504_872, TMobileNetV2),
    ("efficientnet_b0", 5_288_548, lambda: TEfficientNet(0)),
    ("efficientnet_b1", 7_794_184, lambda: TEfficientNet(1)),
    ("efficientnet_b2", 9_109_994, lambda: TEfficientNet(2)),
    ("efficientnet_b3", 12_233_232, lambda: TEfficientNet(3)),
    ("efficientnet_b4", 19_341_616, lambda: TEfficientNet(4)),
    ("efficientnet_b5", 30_389_784, lambda: TEfficientNet(5)),
    ("efficientnet_b6", 43_040_704, lambda: TEfficientNet(6)),
    ("efficientnet_b7", 66_347_960, lambda: TEfficientNet(7)),
]


@pytest.mark.parametrize("name,count,replica", TORCHVISION, ids=[c[0] for c in TORCHVISION])
def test_torchvision_parameter_count_and_state_dict_layout(skip_init, name, count, replica):
    model = getattr(models, name)()
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        reference = replica()
    assert n_params(reference) == count
    assert n_params(model) == count
    assert_same_layout(model, reference)


# The CIFAR ResNets of He et al. with option A shortcuts (no shortcut parameters): 0.27M, 0.46M,
# 0.66M, 0.85M and 1.7M parameters in the paper's Table 6.
CIFAR = [(8, 75_290), (20, 269_722), (32, 464_154), (44, 658_586), (56, 853_018), (110, 1_727_962)]


@pytest.mark.parametrize("depth,count", CIFAR)
def test_cifar_resnet_parameter_count_and_layout(depth, count):
    model = getattr(models, f"resnet{depth}")()
    assert n_params(model) == n_params(TCifarResNet(depth)) == count
    assert n_params(models.cifar_resnet(depth)) == count
    assert_same_layout(model, TCifarResNet(depth))
    projection = models.cifar_resnet(depth, shortcut="B", num_classes=100)
    assert_same_layout(projection, TCifarResNet(depth, 100, shortcut="B"))
    # option B adds two 1x1 projections with batch norm; 90 more classes add 90 * (64 + 1)
    assert n_params(projection) == count + (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64) + 90 * 65


def test_lenet_layout_and_count():
    assert n_params(models.lenet5()) == 61_706  # 156 + 2416 + 48120 + 10164 + 850
    assert_same_layout(models.lenet5(), TLeNet5())
    assert_same_layout(models.LeNet5(num_classes=100, in_channels=3, input_size=32), TLeNet5(100, 3, padding=0))


# ---------------------------------------------------------------- outputs against the replicas

def test_resnet18_loads_torch_state_dict_and_matches_logits():
    torch.manual_seed(0)
    reference = randomize_norms(TResNet(TBasicBlock, [2, 2, 2, 2]))
    model = models.resnet18()
    missing, unexpected = model.load_state_dict(reference.state_dict())
    assert not missing and not unexpected
    compare_eval(model, reference, (2, 3, 64, 64))


def test_resnet50_matches_logits():
    torch.manual_seed(0)
    compare_eval(models.resnet50(num_classes=10), randomize_norms(TResNet(TBottleneck, [3, 4, 6, 3], 10)),
                 (1, 3, 32, 32))


def test_resnet18_train_mode_forward_backward_matches():
    """Train mode (batch statistics): outputs and every parameter's gradient, in float64. The
    inputs of the train-mode checks leave at least 2x2 pixels at the last stage: batch norm of
    only 2 values per channel is so ill-conditioned that float64 rounding grows to 1e-6."""
    torch.manual_seed(0)
    check_module(models.resnet18(num_classes=5), TResNet(TBasicBlock, [2, 2, 2, 2], 5), [(2, 3, 48, 48)],
                 dtype="float64")


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_cifar_resnet_train_and_eval_match(shortcut):
    torch.manual_seed(0)
    model, reference = models.resnet20(shortcut=shortcut), TCifarResNet(20, shortcut=shortcut)
    check_module(model, reference, [(2, 3, 16, 16)], dtype="float64")
    compare_eval(model, randomize_norms(reference), (2, 3, 32, 32))


def test_lenet_matches():
    torch.manual_seed(0)
    check_module(models.lenet5(), TLeNet5(), [(3, 1, 28, 28)])
    check_module(models.lenet5(input_size=32, in_channels=3), TLeNet5(10, 3, padding=0), [(2, 3, 32, 32)])


def test_alexnet_eval_matches():
    torch.manual_seed(0)
    compare_eval(models.alexnet(num_classes=10), TAlexNet(10), (1, 3, 64, 64))


def test_mobilenet_v2_eval_matches():
    torch.manual_seed(0)
    compare_eval(models.mobilenet_v2(num_classes=10), randomize_norms(TMobileNetV2(10)), (1, 3, 64, 64))


def test_efficientnet_b0_eval_matches():
    """Dropout and stochastic depth are the identity in eval mode."""
    torch.manual_seed(0)
    compare_eval(models.efficientnet_b0(num_classes=10), randomize_norms(TEfficientNet(0, 10)), (1, 3, 64, 64))


# Train mode (batch statistics) of the blocks, in float64: whole networks would take seconds in
# float64 depthwise convolutions (PyTorch's are slow on CPU), and their last stages see 1x1 pixels.
@pytest.mark.parametrize("cin,cout,stride,t", [(16, 16, 1, 6), (16, 24, 2, 6), (8, 8, 1, 1)])
def test_inverted_residual_train_mode_matches(cin, cout, stride, t):
    torch.manual_seed(0)
    check_module(models.InvertedResidual(cin, cout, stride, t), TInvertedResidual(cin, cout, stride, t),
                 [(2, cin, 5, 5)], dtype="float64")


@pytest.mark.parametrize("cin,cout,k,stride,t", [(16, 16, 3, 1, 6), (16, 24, 5, 2, 6), (32, 16, 3, 1, 1)])
def test_mbconv_train_mode_matches(cin, cout, k, stride, t):
    torch.manual_seed(0)
    model = models.MBConv(cin, cout, k, stride, t, stochastic_depth_prob=0.0, norm_layer=nn.BatchNorm2d)
    check_module(model, TMBConv(cin, cout, k, stride, t, tnn.BatchNorm2d), [(2, cin, 5, 5)], dtype="float64")


# ---------------------------------------------------------------- shapes, training, options

def test_vgg_forward_shape_and_small_input(skip_init):
    model = models.vgg11_bn(num_classes=7)
    with ember.no_grad():
        for p in model.parameters():  # defined values in place of the skipped initialisation
            p.fill_(0.01)
    with ember.no_grad():
        assert model.eval()(ember.zeros(1, 3, 32, 32)).shape == (1, 7)


@pytest.mark.parametrize("factory,shape,classes,kwargs", [
    ("lenet5", (4, 1, 28, 28), 10, {}), ("resnet8", (4, 3, 32, 32), 10, {}),
    ("resnet18", (2, 3, 64, 64), 1000, {}), ("mobilenet_v2", (2, 3, 32, 32), 1000, {}),
    # no stochastic depth: a block dropped for the whole batch would get zero gradients
    ("efficientnet_b0", (2, 3, 32, 32), 1000, {"stochastic_depth_prob": 0.0}),
])
def test_train_step_updates_every_parameter(factory, shape, classes, kwargs):
    model = getattr(models, factory)(**kwargs)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    x, y = ember.randn(*shape), ember.randint(0, classes, (shape[0],))
    out = model(x)
    assert out.shape == (shape[0], classes)
    ember.nn.functional.cross_entropy(out, y).backward()
    opt.step()
    for n, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, n
        assert not np.array_equal(p.detach().numpy(), before[n].numpy()), f"{n} did not change"


def test_efficientnet_stochastic_depth_probabilities_grow_linearly(skip_init):
    model = models.efficientnet_b0()
    probs = [m.stochastic_depth.p for m in model.modules() if isinstance(m, models.MBConv)]
    assert len(probs) == 16
    assert probs == [0.2 * i / 16 for i in range(16)]
    assert models.efficientnet_b7().features[1][0].block[0][1].eps == 0.001
    assert models.efficientnet_b4().features[1][0].block[0][1].eps == 1e-5


def test_efficientnet_train_mode_drops_residual_branches():
    ember.manual_seed(0)
    block = models.MBConv(16, 16, 3, 1, 6, stochastic_depth_prob=0.5, norm_layer=nn.BatchNorm2d)
    x = ember.randn(64, 16, 4, 4)
    block.eval()
    with ember.no_grad():
        np.testing.assert_allclose(block(x).numpy(), (block.block(x) + x).numpy(), rtol=1e-6, atol=1e-6)
    block.train()
    branch = block.block(x).detach()
    diff = (block(x) - x).detach().numpy()
    dropped = np.all(diff == 0, axis=(1, 2, 3))
    assert 16 < dropped.sum() < 48  # about half of the 64 samples lose their branch
    np.testing.assert_allclose(diff[~dropped], 2 * branch.numpy()[~dropped], rtol=1e-5, atol=1e-5)


def test_stochastic_depth():
    x = ember.randn(1000, 3, requires_grad=True)
    assert _utils.stochastic_depth(x, 0.3, "row", training=False) is x
    assert _utils.stochastic_depth(x, 0.0, "row") is x
    out = _utils.stochastic_depth(x, 0.25, "row")
    ratio = (out / x).detach().numpy()
    kept = np.all(np.isclose(ratio, 1 / 0.75), axis=1)
    assert np.all(kept | np.all(ratio == 0, axis=1))
    assert abs(kept.mean() - 0.75) < 0.05
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, 1 / 0.75, 0.0)[:, None] * np.ones((1, 3)),
                               rtol=1e-6)
    whole = _utils.stochastic_depth(x, 0.5, "batch").detach().numpy()
    assert np.all(whole == 0) or np.allclose(whole, 2 * x.detach().numpy())
    assert np.all(_utils.stochastic_depth(x, 1.0, "row").detach().numpy() == 0)
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        _utils.stochastic_depth(x, 1.5, "row")
    with pytest.raises(ValueError, match="'batch' or 'row', but got 'col'"):
        _utils.stochastic_depth(x, 0.5, "col")
    module = _utils.StochasticDepth(0.2, "row")
    assert repr(module) == "StochasticDepth(p=0.2, mode=row)"
    assert module.eval()(x) is x


def test_squeeze_excitation_and_conv_norm_activation():
    torch.manual_seed(0)
    check_module(_utils.SqueezeExcitation(6, 2, activation=nn.SiLU), TSqueezeExcitation(6, 2), [(2, 6, 5, 5)])
    assert isinstance(_utils.SqueezeExcitation(6, 2).activation, nn.ReLU)
    cna = _utils.Conv2dNormActivation(4, 8, kernel_size=5, stride=2, norm_layer=None, activation_layer=nn.SiLU)
    assert cna[0].bias is not None and cna[0].padding == (2, 2) and len(cna) == 2 and cna.out_channels == 8
    check_module(cna, tnn.Sequential(tnn.Conv2d(4, 8, 5, 2, 2), tnn.SiLU()), [(1, 4, 9, 9)])


def test_make_divisible():
    assert [_utils._make_divisible(v, 8) for v in (32, 33.6, 35.2, 3, 12, 100.8)] == [32, 32, 32, 8, 16, 104]
    assert _utils._make_divisible(10, 8) == 16  # 8 would lose more than 10%
    assert _utils._make_divisible(1280 * 0.5, 8) == 640


def test_resnet_init():
    ember.manual_seed(0)
    model = models.resnet18()
    w = model.layer3[0].conv1.weight.detach().numpy()
    assert abs(w.std() - math.sqrt(2 / (256 * 9))) < 0.05 * math.sqrt(2 / (256 * 9))  # He normal, fan_out
    assert np.all(model.bn1.weight.detach().numpy() == 1) and np.all(model.bn1.bias.detach().numpy() == 0)
    zero = models.resnet50(zero_init_residual=True)
    assert np.all(zero.layer1[0].bn3.weight.detach().numpy() == 0)
    assert np.all(zero.layer1[0].bn2.weight.detach().numpy() == 1)
    assert np.all(models.resnet20(zero_init_residual=True).layer2[1].bn2.weight.detach().numpy() == 0)


def test_classifier_inits():
    ember.manual_seed(0)
    mobile = models.mobilenet_v2()
    w = mobile.classifier[1].weight.detach().numpy()
    assert abs(w.std() - 0.01) < 0.0005 and np.all(mobile.classifier[1].bias.detach().numpy() == 0)
    eff = models.efficientnet_b0()
    w = eff.classifier[1].weight.detach().numpy()
    assert np.abs(w).max() <= 1 / math.sqrt(1000) and abs(w.std() - 1 / math.sqrt(3000)) < 0.001
    se = eff.features[2][0].block[2]
    assert np.all(se.fc1.bias.detach().numpy() == 0)


def test_reprs_match_torch():
    with torch.device("meta"):
        resnet, alexnet = TResNet(TBasicBlock, [2, 2, 2, 2]), TAlexNet()
    assert repr(models.resnet18()) == repr(resnet).replace("TBasicBlock", "BasicBlock").replace("TResNet", "ResNet")
    assert repr(models.alexnet()) == repr(alexnet).replace("TAlexNet", "AlexNet")


def test_weights_are_refused():
    # Factories without a weights enum (the ones with one: tests/vision/test_weights.py).
    with pytest.raises(ValueError, match=r"resnet101\(weights='IMAGENET1K_V1'\): pretrained weights are not "
                                         r"bundled.*model.load_state_dict\(ember.load\(path\)\)"):
        models.resnet101(weights="IMAGENET1K_V1")
    with pytest.raises(ValueError, match="efficientnet_b1.*not bundled"):
        models.efficientnet_b1(pretrained=True)
    with pytest.raises(ValueError, match="resnet20.*not bundled"):
        models.resnet20(weights="DEFAULT")
    for factory in ("vgg11", "vgg16_bn", "resnet56"):
        with pytest.raises(ValueError, match=f"{factory}.*not bundled"):
            getattr(models, factory)(weights="x")
    with pytest.raises(KeyError):  # lenet5 has weights (LeNet5_Weights): an unknown name, as torchvision
        models.lenet5(weights="x")
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        assert isinstance(models.lenet5(pretrained=False, num_classes=3), models.LeNet5)


def test_constructor_errors():
    with pytest.raises(ValueError, match="depth must be 6n \\+ 2.*got 21"):
        models.cifar_resnet(21)
    with pytest.raises(ValueError, match="shortcut must be 'A'.*got 'C'"):
        models.resnet20(shortcut="C")
    with pytest.raises(ValueError, match="input_size must be 28 or 32, got 30"):
        models.LeNet5(input_size=30)
    with pytest.raises(ValueError, match="only supports groups=1"):
        models.BasicBlock(64, 64, groups=2)
    with pytest.raises(ValueError, match="replace_stride_with_dilation"):
        models.resnet18(replace_stride_with_dilation=[True])
    with pytest.raises(ValueError, match="inverted_residual_setting"):
        models.MobileNetV2(inverted_residual_setting=[[1, 16, 1]])
    with pytest.raises(TypeError, match="List\\[MBConvConfig\\]"):
        models.EfficientNet([[1, 3, 1, 32, 16, 1]], 0.2)
    with pytest.raises(TypeError):
        models.resnet18(3)  # torchvision's factories take keywords only
