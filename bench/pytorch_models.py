#!/usr/bin/env python3
"""PyTorch reference timing for `cargo xtask bench models`, one network per run.

Each `--network` is built layer by layer as hpn builds it (crates/hpn-models/src), at the input
size, output dimension D = number of prototypes K and batch of `cargo xtask bench models
--network NAME`:

    resnet32     CIFAR ResNet-32 (3x3 conv + BN shortcut)   32x32x3,   D = 100, batch 128
    convnet      ConvNet (2 conv + 2 fully connected)       28x28x1,   D = 10,  batch 128
    convnet-bn   the same ConvNet with BatchNorm            28x28x1,   D = 10,  batch 128
    densenet121  DenseNet-121, CIFAR variant (3x3 stem)     32x32x3,   D = 100, batch 64
    resnet18     ResNet-18, ImageNet layout                 224x224x3, D = 200, batch 32
    resnet34     ResNet-34, ImageNet layout                 224x224x3, D = 200, batch 32

with the same initialisation, the same loss (sum_i (1 - cos(z_i, p_{y_i}))^2, cos = z.p /
(|z| |p| + 1e-9), against K random unit prototypes) and the same SGD step (lr 0.01, momentum
0.9, dampening 0, weight decay 1e-4), on the CPU or a CUDA GPU. The number of trainable
parameters is printed in the header and checked against hpn's (`Model::num_params`, the table
in crates/hpn-models/src/lib.rs); the script exits with status 1 if they differ.

    python3 bench/pytorch_models.py [--network resnet32] [--batch N] [--warmup 2] [--iters 5]
                                    [--threads N] [--device cpu|cuda] [--seed 0]

`--batch` defaults to the network's batch above. Prints the median forward (eval mode, no grad,
outputs copied back to the host) and train-step (loss read back to the host) throughput in
images/s, as `cargo xtask bench models` measures them, and the peak resident memory (VmHWM; on
CUDA also the peak GPU memory allocated), in the format of `cargo xtask bench models`.
"""

import argparse
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("torch not installed: install it (pip install torch) to run the PyTorch side of the benchmark")
    sys.exit(0)

# name: (title, input channels, side, D = K, default batch), as in xtask/src/bench/models.rs.
NETWORKS = {
    "resnet32": ("ResNet-32 (3x3 conv + BN shortcut)", 3, 32, 100, 128),
    "convnet": ("ConvNet", 1, 28, 10, 128),
    "convnet-bn": ("ConvNet-BN", 1, 28, 10, 128),
    "densenet121": ("DenseNet-121 (CIFAR stem)", 3, 32, 100, 64),
    "resnet18": ("ResNet-18", 3, 224, 200, 32),
    "resnet34": ("ResNet-34", 3, 224, 200, 32),
}


def hpn_params(network, c, d):
    """hpn's trainable-parameter count (crates/hpn-models/src/lib.rs, tests/models/param_counts.rs)
    for C input channels and D outputs."""
    return {
        "resnet32": 486_736 + 65 * d,
        "convnet": 288 * c + 420_064 + 129 * d,
        "convnet-bn": 288 * c + 420_512 + 129 * d,
        "densenet121": 6_946_048 + 1025 * d,
        "resnet18": 11_176_512 + 513 * d,
        "resnet34": 21_284_672 + 513 * d,
    }[network]


# ---------------------------------------------------------------------------------------------
# Layers shared by the ResNets (crates/hpn-models/src/layers.rs, basic_block.rs).


def he_conv(cin, cout, kernel, stride, padding):
    """Bias-free conv, weights N(0, sqrt(2 / (k k out_channels))) (He et al., fan-out)."""
    conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
    nn.init.normal_(conv.weight, 0.0, (2.0 / (kernel * kernel * cout)) ** 0.5)
    return conv


def bn2d(channels):
    """BatchNorm with PyTorch's defaults (eps 1e-5, momentum 0.1, weight 1, bias 0), as hpn's."""
    return nn.BatchNorm2d(channels)


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); conv1 carries the stride; where the
    shape changes the shortcut is a `shortcut_kernel` x `shortcut_kernel` conv (padding k / 2,
    the block's stride) + BN, otherwise the identity."""

    def __init__(self, cin, cout, stride, shortcut_kernel):
        super().__init__()
        self.conv1, self.bn1 = he_conv(cin, cout, 3, stride, 1), bn2d(cout)
        self.conv2, self.bn2 = he_conv(cout, cout, 3, 1, 1), bn2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            k = shortcut_kernel
            self.downsample = nn.Sequential(he_conv(cin, cout, k, stride, k // 2), bn2d(cout))

    def forward(self, x):
        residual = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + residual)


def stage(cin, cout, blocks, stride, shortcut_kernel):
    layers = [BasicBlock(cin, cout, stride, shortcut_kernel)]
    layers += [BasicBlock(cout, cout, 1, shortcut_kernel) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNetCifar(nn.Module):
    """CIFAR ResNet of depth 6n + 2 (resnet_cifar.rs): 3x3 stem C -> 16 + BN + ReLU, three stages
    of n blocks (16, 32, 64 channels; stride 2 at stages 2 and 3, 3x3 conv + BN shortcut there),
    global average pooling, Linear(64 -> D)."""

    def __init__(self, in_channels, outputs, n=5):
        super().__init__()
        self.conv1, self.bn1 = he_conv(in_channels, 16, 3, 1, 1), bn2d(16)
        self.layer1 = stage(16, 16, n, 1, 3)
        self.layer2 = stage(16, 32, n, 2, 3)
        self.layer3 = stage(32, 64, n, 2, 3)
        self.fc = nn.Linear(64, outputs)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean(dim=(2, 3)))


class ResNetImageNet(nn.Module):
    """ImageNet-layout ResNet (resnet.rs): 7x7 stem C -> 64, stride 2, padding 3 + BN + ReLU +
    3x3 max pool (stride 2, padding 1), four stages of BasicBlocks (64, 128, 256, 512 channels;
    stride 2 at stages 2-4, 1x1 conv + BN shortcut there), global average pooling,
    Linear(512 -> D)."""

    def __init__(self, blocks, in_channels, outputs):
        super().__init__()
        self.conv1, self.bn1 = he_conv(in_channels, 64, 7, 2, 3), bn2d(64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = stage(64, 64, blocks[0], 1, 1)
        self.layer2 = stage(64, 128, blocks[1], 2, 1)
        self.layer3 = stage(128, 256, blocks[2], 2, 1)
        self.layer4 = stage(256, 512, blocks[3], 2, 1)
        self.fc = nn.Linear(512, outputs)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean(dim=(2, 3)))


# ---------------------------------------------------------------------------------------------
# DenseNet-121, CIFAR variant (densenet.rs). Convolutions keep PyTorch's default initialisation
# (uniform, bound 1 / sqrt(fan_in)), which is what hpn's (Burn's default) initialiser gives.


def plain_conv(cin, cout, kernel, padding):
    return nn.Conv2d(cin, cout, kernel, padding=padding, bias=False)


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv (c -> 4k) - BN-ReLU-3x3 conv (4k -> k); output cat([new, x])."""

    def __init__(self, cin, growth):
        super().__init__()
        self.bn1, self.conv1 = bn2d(cin), plain_conv(cin, 4 * growth, 1, 0)
        self.bn2, self.conv2 = bn2d(4 * growth), plain_conv(4 * growth, growth, 3, 1)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([out, x], 1)


class Transition(nn.Module):
    """BN-ReLU-1x1 conv (c -> floor(c / 2)) - 2x2 average pool, stride 2."""

    def __init__(self, cin, cout):
        super().__init__()
        self.bn, self.conv = bn2d(cin), plain_conv(cin, cout, 1, 0)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet(nn.Module):
    """3x3 stem C -> 2k (stride 1, no BN, no pooling), dense blocks of [6, 12, 24, 16] layers,
    growth k = 32, transitions with reduction 0.5, final BN + ReLU, global average pooling,
    Linear(1024 -> D)."""

    def __init__(self, in_channels, outputs, blocks=(6, 12, 24, 16), growth=32):
        super().__init__()
        channels = 2 * growth
        self.conv1 = plain_conv(in_channels, channels, 3, 1)
        self.blocks, self.transitions = nn.ModuleList(), nn.ModuleList()
        for i, layers in enumerate(blocks):
            self.blocks.append(
                nn.Sequential(*[DenseLayer(channels + j * growth, growth) for j in range(layers)])
            )
            channels += layers * growth
            if i + 1 < len(blocks):
                self.transitions.append(Transition(channels, channels // 2))
                channels //= 2
        self.bn = bn2d(channels)
        self.linear = nn.Linear(channels, outputs)

    def forward(self, x):
        x = self.conv1(x)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < len(self.transitions):
                x = self.transitions[i](x)
        x = F.relu(self.bn(x))
        return self.linear(x.mean(dim=(2, 3)))


# ---------------------------------------------------------------------------------------------
# ConvNet and ConvNet-BN (convnet.rs).


def he_normal_(layer, gain):
    """Weight and bias from N(0, gain / sqrt(fan_in)), as hpn's KaimingNormal initialiser (which
    Burn applies to the bias too, with the layer's fan-in)."""
    fan_in = layer.weight[0].numel()
    std = gain / fan_in**0.5
    nn.init.normal_(layer.weight, 0.0, std)
    nn.init.normal_(layer.bias, 0.0, std)
    return layer


class ConvNet(nn.Module):
    """conv 3x3 (C -> 32, padding 1, bias) - [BN] - ReLU - maxpool 2 - conv 3x3 (32 -> 64) - [BN] -
    ReLU - maxpool 2 - adaptive average pool to 7x7 - Linear(64*7*7 -> 128) - [BN] - ReLU -
    Linear(128 -> D); the BatchNorm layers only in ConvNet-BN."""

    def __init__(self, in_channels, outputs, normalised):
        super().__init__()
        root2 = 2.0**0.5
        self.conv1 = he_normal_(nn.Conv2d(in_channels, 32, 3, padding=1), root2)
        self.conv2 = he_normal_(nn.Conv2d(32, 64, 3, padding=1), root2)
        self.grid = nn.AdaptiveAvgPool2d(7)
        self.fc1 = he_normal_(nn.Linear(64 * 7 * 7, 128), root2)
        self.fc2 = he_normal_(nn.Linear(128, outputs), 1.0)
        identity = nn.Identity
        self.bn1 = bn2d(32) if normalised else identity()
        self.bn2 = bn2d(64) if normalised else identity()
        self.bn3 = nn.BatchNorm1d(128) if normalised else identity()

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = self.grid(x).flatten(1)
        x = F.relu(self.bn3(self.fc1(x)))
        return self.fc2(x)


def build(network, in_channels, outputs):
    if network == "resnet32":
        return ResNetCifar(in_channels, outputs, n=5)
    if network in ("convnet", "convnet-bn"):
        return ConvNet(in_channels, outputs, normalised=network == "convnet-bn")
    if network == "densenet121":
        return DenseNet(in_channels, outputs)
    if network == "resnet18":
        return ResNetImageNet([2, 2, 2, 2], in_channels, outputs)
    if network == "resnet34":
        return ResNetImageNet([3, 4, 6, 3], in_channels, outputs)
    raise ValueError(network)


# ---------------------------------------------------------------------------------------------


def hpn_loss(z, prototypes, labels):
    """Eq. 1 summed over the batch, with hpn's cosine: z.p / (|z| |p| + 1e-9)."""
    targets = prototypes[labels]
    cos = (z * targets).sum(dim=1) / (z.norm(dim=1) * targets.norm(dim=1) + 1e-9)
    return (1 - cos).pow(2).sum()


def peak_memory_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def timed(warmup, iters, fn):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--network", choices=list(NETWORKS), default="resnet32")
    parser.add_argument("--batch", type=int, default=None, help="default: the network's batch")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: default)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--seed", type=int, default=0, help="torch.manual_seed: the same last loss on every run")
    args = parser.parse_args()
    if args.iters < 1:
        parser.error("--iters must be at least 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: torch sees no CUDA device (torch.cuda.is_available() is False)")
        sys.exit(1)
    device = torch.device(args.device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    torch.manual_seed(args.seed)

    title, channels, side, dims, default_batch = NETWORKS[args.network]
    batch = max(1, args.batch if args.batch is not None else default_batch)
    model = build(args.network, channels, dims)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    expected = hpn_params(args.network, channels, dims)

    name = "pytorch"
    where = torch.cuda.get_device_name(0) if args.device == "cuda" else f"threads: {torch.get_num_threads()}"
    print(
        f"{title}, D = {dims}, {dims} prototypes, batch {batch} of {side}x{side}x{channels}, "
        f"{params:,} parameters (hpn: {expected:,}), {args.device}, {where} (torch {torch.__version__})"
    )
    if params != expected:
        print(
            f"error: the PyTorch {title} has {params:,} trainable parameters, hpn's has {expected:,}: "
            "the architectures differ",
            file=sys.stderr,
        )
        sys.exit(1)

    model = model.to(device)
    prototypes = F.normalize(torch.randn(dims, dims), dim=1).to(device)
    images = torch.randn(batch, channels, side, side).to(device)
    labels = torch.randint(0, dims, (batch,)).to(device)

    model.eval()

    def forward():
        with torch.no_grad():
            model(images).cpu()

    fwd = timed(args.warmup, args.iters, forward)

    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    last = [float("nan")]

    def step():
        optimizer.zero_grad()
        loss = hpn_loss(model(images), prototypes, labels)
        loss.backward()
        optimizer.step()
        last[0] = loss.item()

    train = timed(args.warmup, args.iters, step)

    print(f"{name:8} forward  {batch / fwd:8.1f} img/s  ({fwd * 1e3:7.1f} ms/batch, median of {args.iters})")
    print(
        f"{name:8} train    {batch / train:8.1f} img/s  ({train * 1e3:7.1f} ms/batch, median of {args.iters}, "
        f"last loss {last[0]:.2f})"
    )
    mib = peak_memory_mib()
    if mib is None:
        print(f"{name:8} peak RSS unavailable (no /proc/self/status)")
    else:
        print(f"{name:8} peak RSS {mib:8.1f} MiB (VmHWM, whole process so far)")
    if args.device == "cuda":
        gpu = torch.cuda.max_memory_allocated() / 2**20
        print(f"{name:8} peak GPU {gpu:8.1f} MiB (torch.cuda.max_memory_allocated)")


if __name__ == "__main__":
    main()
