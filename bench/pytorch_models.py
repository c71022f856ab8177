#!/usr/bin/env python3
"""PyTorch reference timing for `cargo xtask bench models` (ResNet-32).

Same network (CIFAR ResNet-32, 3x3 conv + BN shortcut, D = 100), same batch (128 x 3 x 32 x 32),
same loss (sum_i (1 - cos(z_i, p_{y_i}))^2 against 100 random unit prototypes) and the same
SGD step (lr 0.01, momentum 0.9, dampening 0, weight decay 1e-4), on the CPU or a CUDA GPU.

    python3 bench/pytorch_resnet32.py [--batch 128] [--warmup 2] [--iters 5] [--threads N]
                                      [--device cpu|cuda]

Prints the median forward (eval mode, no grad, outputs copied back to the host) and train-step
(loss read back to the host) throughput in images/s, as `cargo xtask bench models` measures
them, and the peak resident memory (VmHWM; on CUDA also the peak GPU memory allocated), in the
format of `cargo xtask bench models`.
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

OUTPUT_DIM = 100
CLASSES = 100


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(cin, cout, stride), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = conv3x3(cout, cout), nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(conv3x3(cin, cout, stride), nn.BatchNorm2d(cout))

    def forward(self, x):
        residual = x if self.shortcut is None else self.shortcut(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + residual)


class ResNet32(nn.Module):
    def __init__(self, output_dim, n=5):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(3, 16), nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, stride in [(16, 1), (32, 2), (64, 2)]:
            for i in range(n):
                layers.append(Block(cin, cout, stride if i == 0 else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, output_dim)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                k = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, (2.0 / k) ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(x.mean(dim=(2, 3)))


def hpn_loss(z, prototypes, labels):
    cos = F.cosine_similarity(z, prototypes[labels], eps=1e-9)
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
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: default)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: torch sees no CUDA device (torch.cuda.is_available() is False)")
        sys.exit(1)
    device = torch.device(args.device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    name = "pytorch"
    where = torch.cuda.get_device_name(0) if args.device == "cuda" else f"threads: {torch.get_num_threads()}"
    print(
        f"ResNet-32 (3x3 conv shortcut), D = {OUTPUT_DIM}, {CLASSES} prototypes, batch {args.batch}, "
        f"32x32x3, {args.device}, {where} (torch {torch.__version__})"
    )
    model = ResNet32(OUTPUT_DIM).to(device)
    prototypes = F.normalize(torch.randn(CLASSES, OUTPUT_DIM), dim=1).to(device)
    images = torch.randn(args.batch, 3, 32, 32).to(device)
    labels = torch.randint(0, CLASSES, (args.batch,)).to(device)

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

    b = args.batch
    print(f"{name:8} forward  {b / fwd:8.1f} img/s  ({fwd * 1e3:7.1f} ms/batch, median of {args.iters})")
    print(
        f"{name:8} train    {b / train:8.1f} img/s  ({train * 1e3:7.1f} ms/batch, median of {args.iters}, "
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
