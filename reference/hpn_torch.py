#!/usr/bin/env python3
"""A second, independent implementation of hpn's training recipe in PyTorch.

It trains one seed of an hpn run directory (``config.toml`` + ``head.json`` + the prototypes
``.npy``) on the images hpn exported (``cargo xtask data export``), and writes ``metrics.csv``
with hpn's columns and ``result.json``. Everything that decides the numbers follows hpn's
code: the networks and their initialisation, the losses (Eq. 1, Eq. 7, Sec. 2.3 and the
baselines) and their reduction, SGD with momentum / dampening / coupled weight decay, the
multi-step schedule, batching (shuffled each epoch, last partial batch kept), crop-flip
augmentation, normalisation, and the evaluation read-out. The random numbers (initial weights,
shuffling, augmentation) come from torch / numpy seeded with ``--seed`` and are not hpn's.

    python3 reference/hpn_torch.py --run RUN --data DATA --seed S --out OUT \
        [--threads T] [--epochs E] [--device cpu|cuda]

See reference/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class RecipeError(Exception):
    """A config value or input this implementation does not handle, or an inconsistent input."""


def unsupported(key: str, value, why: str = "not implemented by reference/hpn_torch.py"):
    return RecipeError(f"unsupported config value {key} = {value!r}: {why}")


# ---------------------------------------------------------------------------------------------
# Config: hpn's schema (crates/hpn-train/src/config.rs), read strictly.
# ---------------------------------------------------------------------------------------------

KNOWN_KEYS = {
    "": {
        "name", "description", "task", "backend", "seeds", "dataset", "model", "prototypes",
        "loss", "optimizer", "training", "open_set",
    },
    "dataset": {
        "kind", "path", "seed", "coarse_labels", "image_size", "rotation", "train_per_class",
        "test_per_class", "imbalance", "validation_fraction", "augmentation", "normalization",
        "cache", "skip_bad", "csv",
    },
    "model": {"backbone", "shortcut"},
    "prototypes": {
        "method", "dims", "file", "word_vectors", "seed", "steps", "regression_bounds",
    },
    "loss": {"kind", "reduction", "task_weight"},
    "optimizer": {
        "learning_rate", "momentum", "dampening", "weight_decay", "milestones", "gamma",
    },
    # gradient_checkpointing trades memory for recomputation and leaves the gradients as they
    # are, so the reference reads it and has nothing to do.
    "training": {
        "epochs", "batch_size", "eval_every", "workers", "eval_batch_size",
        "gradient_checkpointing",
    },
}

# Defaults of crates/hpn-train/src/config.rs (a resolved config.toml writes them all out; these
# only matter for hand-written files).
DEFAULTS = {
    "optimizer": {
        "learning_rate": 0.01, "momentum": 0.9, "dampening": 0.0, "weight_decay": 1e-4,
        "milestones": [100, 200], "gamma": 0.1,
    },
    "training": {"epochs": 250, "batch_size": 128, "eval_every": 10, "eval_batch_size": 500},
}

NORMALIZATION_PRESETS = {
    # crates/hpn-data/src/normalization.rs
    "none": ([0.0], [1.0]),
    "mnist": ([0.1307], [0.3081]),
    "cifar": ([0.507, 0.487, 0.441], [0.267, 0.256, 0.276]),
    "imagenet": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
}


@dataclass
class Recipe:
    task: str                      # classification | regression | joint
    backbone: str                  # convnet | convnet-bn | resnet-cifar
    depth: int                     # resnet-cifar only
    width: int                     # resnet-cifar only
    shortcut: str                  # conv3x3 | conv1x1 | zero-pad
    loss_kind: str                 # hpn | softmax-ce | mse | multitask
    reduction: str                 # sum | mean
    task_weight: Optional[float]
    dims: int
    regression_bounds: Optional[list]
    augmentation: str              # none | crop-flip
    padding: int
    norm_mean: list
    norm_std: list
    learning_rate: float
    momentum: float
    dampening: float
    weight_decay: float
    milestones: list
    gamma: float
    epochs: int
    batch_size: int
    eval_every: int
    eval_batch_size: int


def _check_keys(section: str, table: dict):
    known = KNOWN_KEYS[section]
    for key in table:
        if key not in known:
            name = f"{section}.{key}" if section else key
            raise RecipeError(
                f"config key {name} is not known to reference/hpn_torch.py "
                "(a newer hpn option?); refusing to ignore it"
            )


def parse_backbone(value):
    """`model.backbone` as hpn writes it: a name, or `{ resnet-cifar = { depth, width } }`."""
    if isinstance(value, str):
        if value in ("convnet", "convnet-bn"):
            return value, 0, 0
        if value in ("resnet32", "resnet-32"):
            return "resnet-cifar", 32, 1
        raise unsupported("model.backbone", value,
                          "implemented: convnet, convnet-bn, resnet32, resnet-cifar")
    if isinstance(value, dict) and set(value) == {"resnet-cifar"}:
        inner = value["resnet-cifar"]
        if not isinstance(inner, dict) or set(inner) != {"depth", "width"}:
            raise unsupported("model.backbone", value, "resnet-cifar needs exactly depth and width")
        depth, width = int(inner["depth"]), int(inner["width"])
        if depth < 8 or (depth - 2) % 6 != 0:
            raise unsupported("model.backbone.resnet-cifar.depth", depth, "depth must be 6n + 2, n >= 1")
        if width < 1:
            raise unsupported("model.backbone.resnet-cifar.width", width, "width must be at least 1")
        return "resnet-cifar", depth, width
    raise unsupported("model.backbone", value,
                      "implemented: convnet, convnet-bn, resnet32, resnet-cifar")


def parse_normalization(value):
    if isinstance(value, str):
        if value not in NORMALIZATION_PRESETS:
            raise unsupported("dataset.normalization", value,
                              f"presets: {', '.join(NORMALIZATION_PRESETS)}, or {{ mean, std }}")
        mean, std = NORMALIZATION_PRESETS[value]
        return list(mean), list(std)
    if isinstance(value, dict) and set(value) == {"mean", "std"}:
        mean = [float(m) for m in value["mean"]]
        std = [float(s) for s in value["std"]]
        if not mean or len(mean) != len(std) or any(not (s > 0 and math.isfinite(s)) for s in std):
            raise unsupported("dataset.normalization", value, "mean and std of equal length, std > 0")
        return mean, std
    raise unsupported("dataset.normalization", value, "a preset name or { mean = [..], std = [..] }")


def parse_config(cfg: dict) -> Recipe:
    _check_keys("", cfg)
    for section in ("dataset", "model", "prototypes", "loss", "optimizer", "training"):
        _check_keys(section, cfg.get(section, {}))
    if "open_set" in cfg:
        raise unsupported("open_set", cfg["open_set"], "open-set evaluation is not implemented")

    task = cfg.get("task", "classification")
    if task not in ("classification", "regression", "joint"):
        raise unsupported("task", task, "classification, regression or joint")

    dataset = cfg.get("dataset", {})
    aug = dataset.get("augmentation", {"kind": "none"})
    if isinstance(aug, str) or not isinstance(aug, dict) or "kind" not in aug:
        raise unsupported("dataset.augmentation", aug, "a table with a kind")
    if aug["kind"] == "none":
        if set(aug) != {"kind"}:
            raise unsupported("dataset.augmentation", aug, "none takes no other key")
        augmentation, padding = "none", 0
    elif aug["kind"] == "crop-flip":
        if set(aug) != {"kind", "padding"}:
            raise unsupported("dataset.augmentation", aug, "crop-flip takes exactly padding")
        augmentation, padding = "crop-flip", int(aug["padding"])
    else:
        raise unsupported("dataset.augmentation.kind", aug["kind"], "implemented: none, crop-flip")
    mean, std = parse_normalization(dataset.get("normalization", "mnist"))

    model = cfg.get("model", {})
    backbone, depth, width = parse_backbone(model.get("backbone", "convnet"))
    shortcut = model.get("shortcut", "conv3x3")
    if shortcut not in ("conv3x3", "conv1x1", "zero-pad"):
        raise unsupported("model.shortcut", shortcut, "conv3x3, conv1x1 or zero-pad")

    loss = cfg.get("loss", {})
    loss_kind = loss.get("kind", "hpn")
    if loss_kind not in ("hpn", "softmax-ce", "mse", "multitask"):
        raise unsupported("loss.kind", loss_kind, "hpn, softmax-ce, mse or multitask")
    fits = {
        "classification": ("hpn", "softmax-ce"),
        "regression": ("hpn", "mse"),
        "joint": ("hpn", "multitask"),
    }[task]
    if loss_kind not in fits:
        raise unsupported("loss.kind", loss_kind, f"the {task} task takes {' or '.join(fits)}")
    # crates/hpn-train/src/config.rs LossKind::default_reduction
    reduction = loss.get("reduction", "sum" if loss_kind == "hpn" else "mean")
    if reduction not in ("sum", "mean"):
        raise unsupported("loss.reduction", reduction, "sum or mean")
    task_weight = loss.get("task_weight")
    if task_weight is not None:
        task_weight = float(task_weight)
        if not 0.0 <= task_weight <= 1.0:
            raise unsupported("loss.task_weight", task_weight, "a number in [0, 1]")
    if loss_kind == "multitask" and task_weight is None:
        raise unsupported("loss.task_weight", None, "the multitask baseline needs a weight")

    protos = cfg.get("prototypes", {})
    dims = int(protos.get("dims", 10))

    opt = {**DEFAULTS["optimizer"], **cfg.get("optimizer", {})}
    tr = {**DEFAULTS["training"], **cfg.get("training", {})}
    if not 0.0 <= float(opt["momentum"]) < 1.0:
        raise unsupported("optimizer.momentum", opt["momentum"], "a number in [0, 1)")
    for key in ("epochs", "batch_size", "eval_every", "eval_batch_size"):
        if int(tr[key]) < 1:
            raise unsupported(f"training.{key}", tr[key], "at least 1")

    return Recipe(
        task=task, backbone=backbone, depth=depth, width=width, shortcut=shortcut,
        loss_kind=loss_kind, reduction=reduction, task_weight=task_weight, dims=dims,
        regression_bounds=protos.get("regression_bounds"),
        augmentation=augmentation, padding=padding, norm_mean=mean, norm_std=std,
        learning_rate=float(opt["learning_rate"]), momentum=float(opt["momentum"]),
        dampening=float(opt["dampening"]), weight_decay=float(opt["weight_decay"]),
        milestones=[int(m) for m in opt["milestones"]], gamma=float(opt["gamma"]),
        epochs=int(tr["epochs"]), batch_size=int(tr["batch_size"]),
        eval_every=int(tr["eval_every"]), eval_batch_size=int(tr["eval_batch_size"]),
    )


def powi(x: float, n: int) -> float:
    """x^n by repeated squaring, as Rust's f64::powi (LLVM's __powidf2) computes it."""
    r, a, m = 1.0, x, abs(n)
    while True:
        if m & 1:
            r *= a
        m >>= 1
        if m == 0:
            break
        a *= a
    return 1.0 / r if n < 0 else r


def learning_rate_at(recipe: Recipe, epoch: int) -> float:
    """lr of 0-based `epoch`: lr * gamma^(milestones <= epoch) (OptimizerConfig::learning_rate_at)."""
    passed = sum(1 for m in recipe.milestones if m <= epoch)
    return recipe.learning_rate * powi(recipe.gamma, passed)


def rust_float(x: float) -> str:
    """An f64 as Rust's `{}` prints it: the shortest round-trip digits, never an exponent."""
    return np.format_float_positional(x, unique=True, trim="-")


# ---------------------------------------------------------------------------------------------
# Networks (crates/hpn-models/src): convnet.rs, resnet_cifar.rs, basic_block.rs, layers.rs.
# ---------------------------------------------------------------------------------------------


class BatchNorm(nn.Module):
    """BatchNorm over axis 1 as Burn 0.22's `BatchNorm` (and hpn's fused kernel) computes it.

    Training: normalise with the batch mean and the *biased* batch variance, and update
    ``r <- (1 - momentum) r + momentum s`` with s the batch mean and the biased variance
    (burn-nn modules/norm/batch.rs; hpn-kernels batch_norm_extension.rs). PyTorch's own
    BatchNorm feeds the unbiased variance to the running average, hence this class.
    Evaluation: the running statistics. gamma 1, beta 0, running mean 0, running var 1.
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                dims = [d for d in range(x.dim()) if d != 1]
                var, mean = torch.var_mean(x, dim=dims, correction=0)
                self.running_mean.mul_(1.0 - self.momentum).add_(mean, alpha=self.momentum)
                self.running_var.mul_(1.0 - self.momentum).add_(var, alpha=self.momentum)
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            False, 0.0, self.eps)


def kaiming_normal_(tensor: torch.Tensor, gain: float, fan_in: int, gen: torch.Generator):
    """Burn's Initializer::KaimingNormal { gain, fan_out_only: false }: N(0, gain / sqrt(fan_in))."""
    with torch.no_grad():
        tensor.normal_(0.0, gain / math.sqrt(fan_in), generator=gen)


def uniform_(tensor: torch.Tensor, bound: float, gen: torch.Generator):
    with torch.no_grad():
        tensor.uniform_(-bound, bound, generator=gen)


class ConvNet(nn.Module):
    """conv3x3(C->32)-[BN]-ReLU-maxpool2-conv3x3(32->64)-[BN]-ReLU-maxpool2-adaptive avg 7x7-
    Linear(3136->128)-[BN]-ReLU-Linear(128->D).

    Burn 0.22 draws a layer's bias with the same initializer as its weight (conv2d.rs and
    linear.rs `init`), so with hpn's KaimingNormal every weight *and bias* here is
    N(0, gain / sqrt(fan_in)): gain sqrt(2) for conv1, conv2, fc1, gain 1 for fc2.
    """

    def __init__(self, in_channels: int, outputs: int, normalised: bool, gen: torch.Generator):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, outputs)
        for layer, fan_in, gain in (
            (self.conv1, in_channels * 9, math.sqrt(2.0)),
            (self.conv2, 32 * 9, math.sqrt(2.0)),
            (self.fc1, 64 * 7 * 7, math.sqrt(2.0)),
            (self.fc2, 128, 1.0),
        ):
            kaiming_normal_(layer.weight, gain, fan_in, gen)
            kaiming_normal_(layer.bias, gain, fan_in, gen)
        self.bn1 = BatchNorm(32) if normalised else None
        self.bn2 = BatchNorm(64) if normalised else None
        self.bn3 = BatchNorm(128) if normalised else None

    @staticmethod
    def _bn(bn, x):
        return bn(x) if bn is not None else x

    def forward(self, x):
        x = F.max_pool2d(F.relu(self._bn(self.bn1, self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self._bn(self.bn2, self.conv2(x))), 2)
        x = F.adaptive_avg_pool2d(x, (7, 7))
        x = F.relu(self._bn(self.bn3, self.fc1(x.flatten(1))))
        return self.fc2(x)


def he_conv(cin: int, cout: int, kernel: int, stride: int, padding: int, gen) -> nn.Conv2d:
    """layers.rs he_conv: bias-free, N(0, sqrt(2 / (k k out_channels))) (fan-out)."""
    conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
    with torch.no_grad():
        conv.weight.normal_(0.0, math.sqrt(2.0 / (kernel * kernel * cout)), generator=gen)
    return conv


class ZeroPadShortcut(nn.Module):
    """basic_block.rs ZeroPadShortcut: x[:, :, ::s, ::s] with zero channels appended."""

    def __init__(self, stride: int, out_channels: int):
        super().__init__()
        self.stride, self.out_channels = stride, out_channels

    def forward(self, x):
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        n, c, h, w = x.shape
        if self.out_channels <= c:
            return x
        return torch.cat([x, x.new_zeros(n, self.out_channels - c, h, w)], dim=1)


class ConvBn(nn.Module):
    def __init__(self, cin, cout, kernel, stride, gen):
        super().__init__()
        self.conv = he_conv(cin, cout, kernel, stride, kernel // 2, gen)
        self.bn = BatchNorm(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), conv1 carrying the stride."""

    def __init__(self, cin, cout, stride, shortcut, gen):
        super().__init__()
        self.downsample = None
        if stride != 1 or cin != cout:
            if shortcut == "conv3x3":
                self.downsample = ConvBn(cin, cout, 3, stride, gen)
            elif shortcut == "conv1x1":
                self.downsample = ConvBn(cin, cout, 1, stride, gen)
            else:
                self.downsample = ZeroPadShortcut(stride, cout)
        # Same construction order as hpn (shortcut first, then conv1, conv2); the draws are
        # torch's anyway.
        self.conv1 = he_conv(cin, cout, 3, stride, 1, gen)
        self.bn1 = BatchNorm(cout)
        self.conv2 = he_conv(cout, cout, 3, 1, 1, gen)
        self.bn2 = BatchNorm(cout)

    def forward(self, x):
        residual = self.downsample(x) if self.downsample is not None else x
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + residual)


class ResNetCifar(nn.Module):
    """resnet_cifar.rs: stem conv3x3 (16w) + BN + ReLU, three stages of n blocks (16w, 32w, 64w;
    stride 2 at the first block of stages 2 and 3), global average pool, Linear(64w -> D).

    The output layer uses Burn's LinearConfig default, KaimingUniform with gain 1/sqrt(3):
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias (bias drawn by the same initializer).
    """

    def __init__(self, n: int, width: int, in_channels: int, outputs: int, shortcut: str, gen):
        super().__init__()
        c1, c2, c3 = 16 * width, 32 * width, 64 * width
        self.conv1 = he_conv(in_channels, c1, 3, 1, 1, gen)
        self.bn1 = BatchNorm(c1)

        def stage(cin, cout, stride):
            return nn.ModuleList(
                BasicBlock(cin if i == 0 else cout, cout, stride if i == 0 else 1, shortcut, gen)
                for i in range(n)
            )

        self.layer1 = stage(c1, c1, 1)
        self.layer2 = stage(c1, c2, 2)
        self.layer3 = stage(c2, c3, 2)
        self.fc = nn.Linear(c3, outputs)
        bound = 1.0 / math.sqrt(c3)
        uniform_(self.fc.weight, bound, gen)
        uniform_(self.fc.bias, bound, gen)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for block in [*self.layer1, *self.layer2, *self.layer3]:
            x = block(x)
        return self.fc(x.mean(dim=(2, 3)))


def build_model(recipe: Recipe, in_channels: int, outputs: int, gen: torch.Generator) -> nn.Module:
    if recipe.backbone == "convnet":
        return ConvNet(in_channels, outputs, False, gen)
    if recipe.backbone == "convnet-bn":
        return ConvNet(in_channels, outputs, True, gen)
    if recipe.backbone == "resnet-cifar":
        return ResNetCifar((recipe.depth - 2) // 6, recipe.width, in_channels, outputs,
                           recipe.shortcut, gen)
    raise unsupported("model.backbone", recipe.backbone)


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# Losses and read-out (crates/hpn-losses/src, crates/hpn-train/src/head.rs).
# ---------------------------------------------------------------------------------------------

NORM_EPS = 1e-9          # cosine.rs NORM_EPS
MIN_SQUARED_NORM = 1e-30  # cosine.rs MIN_SQUARED_NORM


def row_norms(x: torch.Tensor) -> torch.Tensor:
    return x.square().sum(dim=1, keepdim=True).clamp_min(MIN_SQUARED_NORM).sqrt()


def cosine_matrix(z: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """(N, K) cosines z.p / (|z| |p| + 1e-9)."""
    return (z @ prototypes.t()) / (row_norms(z) * row_norms(prototypes).t() + NORM_EPS)


def paired_cosine(z: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(N, 1) cosine of each row of z with the same row of targets."""
    return (z * targets).sum(dim=1, keepdim=True) / (row_norms(z) * row_norms(targets) + NORM_EPS)


def reduce(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    """reduction.rs: the sum, or the mean over all elements."""
    return per_sample.sum() if reduction == "sum" else per_sample.mean()


def classification_loss(z, prototypes, labels, reduction):
    """Eq. 1 with the signed cosine: sum_i (1 - cos(z_i, p_{y_i}))^2."""
    cos = paired_cosine(z, prototypes[labels])
    return reduce((1.0 - cos).square(), reduction)


def encode_targets(y, bounds):
    """Eq. 7's r = 2 (y - v_l) / (v_u - v_l) - 1 (not clipped)."""
    lo, hi = bounds
    return (y - lo) * (2.0 / (hi - lo)) - 1.0


def decode_targets(r, bounds):
    """y = v_l + (r + 1) / 2 (v_u - v_l)."""
    lo, hi = bounds
    return (r + 1.0) * ((hi - lo) / 2.0) + lo


def regression_loss(z, pole, targets, bounds, reduction):
    """Eq. 7: sum_i (r_i - cos(z_i, p_u))^2."""
    r = encode_targets(targets, bounds).reshape(-1, 1)
    cos = cosine_matrix(z, pole.reshape(1, -1))
    return reduce((r - cos).square(), reduction)


def softmax_cross_entropy(logits, labels, reduction):
    picked = F.log_softmax(logits, dim=1).gather(1, labels.reshape(-1, 1))
    return reduce(-picked, reduction)


def mse_regression_loss(output, targets, bounds, reduction):
    lo, hi = bounds
    t = ((targets - lo) / (hi - lo)).reshape(-1, 1)
    return reduce((output.clamp(0.0, 1.0) - t).square(), reduction)


class Head:
    """head.rs `Head`: which output dimensions each task uses, its loss and its read-out."""

    def __init__(self, recipe: Recipe, classes: int, prototypes: Optional[torch.Tensor],
                 bounds: Optional[tuple]):
        self.r = recipe
        self.classes = classes
        self.prototypes = prototypes
        self.bounds = bounds
        hpn = recipe.loss_kind == "hpn"
        if hpn and recipe.task in ("classification", "joint") and prototypes is None:
            raise RecipeError(f"the {recipe.task} task with the hpn loss needs a prototypes file")
        if recipe.task != "classification" and bounds is None:
            raise RecipeError(f"the {recipe.task} task needs regression bounds")
        if hpn:
            self.width = recipe.dims
        else:
            self.width = {"softmax-ce": classes, "mse": 1, "multitask": 1 + classes}[recipe.loss_kind]
        # The pole p_u = e_0 (layout.rs), for regression and joint.
        self.pole = None
        if hpn and recipe.task != "classification":
            self.pole = torch.zeros(self.width)
            self.pole[0] = 1.0

    def to(self, device):
        if self.prototypes is not None:
            self.prototypes = self.prototypes.to(device)
        if self.pole is not None:
            self.pole = self.pole.to(device)
        return self

    @property
    def has_classes(self):
        return self.r.task != "regression"

    @property
    def has_values(self):
        return self.r.task != "classification"

    def loss(self, z, labels, targets):
        r, red = self.r, self.r.reduction
        if r.loss_kind == "hpn":
            if r.task == "classification":
                return classification_loss(z, self.prototypes, labels, red)
            if r.task == "regression":
                return regression_loss(z, self.pole, targets, self.bounds, red)
            lr_ = regression_loss(z, self.pole, targets, self.bounds, red)
            lc = classification_loss(z[:, 1:], self.prototypes, labels, red)
            if r.task_weight is None:
                return lr_ + lc
            return lr_ * (1.0 - r.task_weight) + lc * r.task_weight
        if r.loss_kind == "softmax-ce":
            return softmax_cross_entropy(z, labels, red)
        if r.loss_kind == "mse":
            return mse_regression_loss(z, targets, self.bounds, red)
        w = 0.5 if r.task_weight is None else r.task_weight
        return (mse_regression_loss(z[:, :1], targets, self.bounds, red) * (1.0 - w)
                + softmax_cross_entropy(z[:, 1:], labels, red) * w)

    def predicted_classes(self, z):
        r = self.r
        if not self.has_classes:
            return None
        if r.loss_kind == "hpn":
            sub = z if r.task == "classification" else z[:, 1:]
            scores = cosine_matrix(sub, self.prototypes)
        elif r.loss_kind == "softmax-ce":
            scores = F.softmax(z, dim=1)
        else:
            scores = F.softmax(z[:, 1:], dim=1)
        return scores.argmax(dim=1)  # first maximum on ties, as Burn's argmax

    def predicted_values(self, z):
        r = self.r
        if not self.has_values:
            return None
        if r.loss_kind == "hpn":
            cos = cosine_matrix(z, self.pole.reshape(1, -1)).reshape(-1)
            return decode_targets(cos, self.bounds)
        out = z if r.loss_kind == "mse" else z[:, :1]
        lo, hi = self.bounds
        return (out.clamp(0.0, 1.0) * (hi - lo) + lo).reshape(-1)


# ---------------------------------------------------------------------------------------------
# Data: normalisation (normalization.rs) and augmentation (augmentation.rs).
# ---------------------------------------------------------------------------------------------


def normalization_affine(mean, std, channels):
    """Per channel (scale, offset) with x = p * scale + offset: scale = 1 / (255 std),
    offset = -mean / std, computed in f64 and stored as f32. Several constants on a grey image
    become their mean (Normalization::for_channels); a single pair serves every channel."""
    if channels == 1 and len(mean) > 1:
        mean, std = [sum(mean) / len(mean)], [sum(std) / len(std)]
    if len(mean) not in (1, channels):
        raise unsupported("dataset.normalization", {"mean": mean, "std": std},
                          f"{len(mean)} constants for images with {channels} channels")
    pick = lambda v, c: v[0] if len(v) == 1 else v[c]
    scale = np.array([1.0 / (255.0 * pick(std, c)) for c in range(channels)], dtype=np.float32)
    offset = np.array([-pick(mean, c) / pick(std, c) for c in range(channels)], dtype=np.float32)
    return torch.from_numpy(scale).reshape(1, -1, 1, 1), torch.from_numpy(offset).reshape(1, -1, 1, 1)


def crop_flip(raw: torch.Tensor, padding: int, oy: torch.Tensor, ox: torch.Tensor,
              flip: torch.Tensor) -> torch.Tensor:
    """augmentation.rs crop_flip on a batch of raw pixels (N, C, H, W): output (y, x) is input
    (oy - p + y, ox - p + x') with x' = W - 1 - x when flipped, zero outside the image."""
    n, c, h, w = raw.shape
    p = padding
    padded = F.pad(raw, (p, p, p, p)) if p > 0 else raw
    dev = raw.device
    xs = torch.arange(w, device=dev).expand(n, w)
    xs = torch.where(flip.reshape(n, 1), (w - 1) - xs, xs)
    rows = oy.reshape(n, 1) + torch.arange(h, device=dev).reshape(1, h)          # (N, H)
    cols = ox.reshape(n, 1) + xs                                                  # (N, W)
    batch = torch.arange(n, device=dev).reshape(n, 1, 1)
    out = padded.permute(0, 2, 3, 1)[batch, rows.reshape(n, h, 1), cols.reshape(n, 1, w)]
    return out.permute(0, 3, 1, 2)                                                # (N, C, H, W)


class Batches:
    """The batches of one epoch: `order` in chunks of `batch_size`, the last one smaller."""

    def __init__(self, images, labels, targets, order, batch_size):
        self.images, self.labels, self.targets = images, labels, targets
        self.order, self.batch_size = order, batch_size

    def __iter__(self):
        for start in range(0, len(self.order), self.batch_size):
            idx = self.order[start:start + self.batch_size]
            yield self.images[idx], self.labels[idx], self.targets[idx]


# ---------------------------------------------------------------------------------------------
# Inputs.
# ---------------------------------------------------------------------------------------------


def load_split(data_dir: Path, split: str):
    images = np.load(data_dir / f"{split}_images.npy")
    labels = np.load(data_dir / f"{split}_labels.npy")
    tpath = data_dir / f"{split}_targets.npy"
    targets = np.load(tpath) if tpath.exists() else None
    if images.dtype != np.uint8 or images.ndim != 4:
        raise RecipeError(f"{split}_images.npy: expected uint8 (N, C, H, W), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise RecipeError(f"{split}_labels.npy: expected ({images.shape[0]},), got {labels.shape}")
    if targets is not None and targets.shape != labels.shape:
        raise RecipeError(f"{split}_targets.npy: expected {labels.shape}, got {targets.shape}")
    return images, labels.astype(np.int64), (None if targets is None else targets.astype(np.float32))


def resolve_bounds(recipe: Recipe, head_json: dict, train_targets):
    """experiment.rs regression_bounds: head.json's (what hpn trained with), else the config's,
    else min and max of the training targets."""
    if recipe.task == "classification":
        return None
    if head_json.get("bounds") is not None:
        lo, hi = head_json["bounds"]
    elif recipe.regression_bounds is not None:
        lo, hi = recipe.regression_bounds
    elif train_targets is not None:
        lo, hi = float(train_targets.min()), float(train_targets.max())
    else:
        raise RecipeError(f"the {recipe.task} task needs regression targets (train_targets.npy)")
    # RegressionBounds is f32 in hpn.
    lo, hi = float(np.float32(lo)), float(np.float32(hi))
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise RecipeError(f"invalid regression bounds [{lo}, {hi}]")
    return lo, hi


def load_prototypes(recipe: Recipe, run_dir: Path, head_json: dict, classes: int):
    if recipe.loss_kind != "hpn" or recipe.task == "regression":
        return None
    name = head_json.get("prototypes_file")
    if not name:
        raise RecipeError("head.json names no prototypes_file, which an HPN run with classes needs")
    p = np.load(run_dir / name).astype(np.float32)
    want = recipe.dims - 1 if recipe.task == "joint" else recipe.dims
    if p.shape != (classes, want):
        raise RecipeError(f"{name}: shape {p.shape}, expected ({classes}, {want}) for this run")
    return torch.from_numpy(p)


# ---------------------------------------------------------------------------------------------
# Training and evaluation (crates/hpn-train/src/train.rs).
# ---------------------------------------------------------------------------------------------


def evaluate(model, head: Head, images, labels, targets, scale, offset, batch_size):
    model.eval()
    n = images.shape[0]
    correct, abs_error = 0, 0.0
    counts = torch.zeros(max(head.classes, 1), dtype=torch.long)
    with torch.no_grad():
        for start in range(0, n, batch_size):
            x = images[start:start + batch_size].float() * scale + offset
            z = model(x)
            cls = head.predicted_classes(z)
            if cls is not None:
                y = labels[start:start + batch_size]
                correct += int((cls == y).sum())
                counts += torch.bincount(cls.cpu(), minlength=head.classes)[: head.classes]
            vals = head.predicted_values(z)
            if vals is not None:
                t = targets[start:start + batch_size]
                abs_error += float((vals.double() - t.double()).abs().sum())
    model.train()
    acc = 100.0 * correct / max(n, 1) if head.has_classes else None
    mae = abs_error / max(n, 1) if head.has_values else None
    largest = float(counts.max()) / max(n, 1) if head.has_classes else None
    return acc, mae, largest, counts.tolist() if head.has_classes else None


def train(run_dir: Path, data_dir: Path, seed: int, out_dir: Path, epochs: Optional[int],
          device: str = "cpu", log=print):
    cfg = tomllib.loads((run_dir / "config.toml").read_text())
    recipe = parse_config(cfg)
    if epochs is not None:
        if epochs < 1:
            raise RecipeError("--epochs must be at least 1")
        recipe.epochs = epochs
    head_json = json.loads((run_dir / "head.json").read_text())
    if head_json.get("task", recipe.task) != recipe.task:
        raise RecipeError(f"head.json task {head_json.get('task')!r} differs from config.toml's {recipe.task!r}")
    classes = len(head_json["class_names"])

    tr_images, tr_labels, tr_targets = load_split(data_dir, "train")
    ev_images, ev_labels, ev_targets = load_split(data_dir, "eval")
    shape = list(head_json.get("image_shape", tr_images.shape[1:]))
    for name, imgs in (("train", tr_images), ("eval", ev_images)):
        if list(imgs.shape[1:]) != shape:
            raise RecipeError(f"{name}_images.npy: images {imgs.shape[1:]}, head.json image_shape {shape}")
    for name, lab in (("train", tr_labels), ("eval", ev_labels)):
        if lab.size and (lab.min() < 0 or lab.max() >= classes):
            raise RecipeError(f"{name}_labels.npy: labels outside 0..{classes}")
    if recipe.task != "classification":
        if tr_targets is None or ev_targets is None:
            raise RecipeError(f"the {recipe.task} task needs train_targets.npy and eval_targets.npy")

    bounds = resolve_bounds(recipe, head_json, tr_targets)
    prototypes = load_prototypes(recipe, run_dir, head_json, classes)
    head = Head(recipe, classes, prototypes, bounds)
    if head_json.get("output_width") not in (None, head.width):
        raise RecipeError(f"head.json output_width {head_json['output_width']}, this recipe gives {head.width}")

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    dev = torch.device(device)
    channels = shape[0]
    model = build_model(recipe, channels, head.width, gen).to(dev)
    head.to(dev)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=recipe.learning_rate, momentum=recipe.momentum,
        dampening=recipe.dampening, weight_decay=recipe.weight_decay, nesterov=False,
    )
    scale, offset = normalization_affine(recipe.norm_mean, recipe.norm_std, channels)
    scale, offset = scale.to(dev), offset.to(dev)

    tr_x = torch.from_numpy(tr_images).to(dev)
    tr_y = torch.from_numpy(tr_labels).to(dev)
    tr_t = torch.from_numpy(tr_targets if tr_targets is not None else np.zeros(len(tr_labels), np.float32)).to(dev)
    ev_x = torch.from_numpy(ev_images).to(dev)
    ev_y = torch.from_numpy(ev_labels).to(dev)
    ev_t = torch.from_numpy(ev_targets if ev_targets is not None else np.zeros(len(ev_labels), np.float32)).to(dev)
    aug_gen = torch.Generator(device=dev).manual_seed(seed + 1)

    out_dir.mkdir(parents=True, exist_ok=True)
    log(f"{cfg.get('name', 'run')}: {recipe.backbone} {model.__class__.__name__} "
        f"({num_params(model)} parameters), {len(tr_labels)} training and {len(ev_labels)} "
        f"evaluation images, {classes} classes, width {head.width}, seed {seed}, "
        f"{recipe.epochs} epochs, {torch.get_num_threads()} threads, device {device}")
    rows = []
    final = {"accuracy": None, "mae": None, "largest_class_fraction": None, "predicted_counts": None}
    model.train()
    for epoch in range(recipe.epochs):
        start = time.perf_counter()
        lr = learning_rate_at(recipe, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        order = torch.from_numpy(rng.permutation(len(tr_labels))).to(dev)
        loss_sum, batches, seen = 0.0, 0, 0
        for b, (raw, y, t) in enumerate(Batches(tr_x, tr_y, tr_t, order, recipe.batch_size)):
            n = raw.shape[0]
            if recipe.augmentation == "crop-flip":
                span = 2 * recipe.padding
                oy = torch.randint(0, span + 1, (n,), generator=aug_gen, device=dev)
                ox = torch.randint(0, span + 1, (n,), generator=aug_gen, device=dev)
                flip = torch.rand(n, generator=aug_gen, device=dev) < 0.5
                raw = crop_flip(raw, recipe.padding, oy, ox, flip)
            x = raw.float() * scale + offset
            z = model(x)
            loss = head.loss(z, y, t)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise RecipeError(f"training diverged: loss {value} at epoch {epoch + 1}, batch {b}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += value
            batches += 1
            seen += n
        train_seconds = time.perf_counter() - start
        last = epoch + 1 == recipe.epochs
        acc = mae = None
        if (epoch + 1) % recipe.eval_every == 0 or last:
            acc, mae, largest, counts = evaluate(model, head, ev_x, ev_y, ev_t, scale, offset,
                                                 recipe.eval_batch_size)
            final = {"accuracy": acc, "mae": mae, "largest_class_fraction": largest,
                     "predicted_counts": counts}
        seconds = time.perf_counter() - start
        row = {
            "epoch": epoch + 1, "lr": lr, "train_loss": loss_sum / max(batches, 1),
            "accuracy": acc, "mae": mae, "seconds": seconds,
            "images_per_second": seen / max(train_seconds, 1e-9),
        }
        rows.append(row)
        write_metrics(out_dir / "metrics.csv", rows)
        log(f"epoch {epoch + 1}/{recipe.epochs} lr {rust_float(lr)} loss {row['train_loss']:.6f}"
            + (f" accuracy {acc:.4f}" if acc is not None else "")
            + (f" mae {mae:.4f}" if mae is not None else "")
            + f" {seconds:.2f} s {row['images_per_second']:.1f} img/s")

    result = {
        "seed": seed,
        "epochs": recipe.epochs,
        "accuracy": final["accuracy"],
        "mae": final["mae"],
        "largest_class_fraction": final["largest_class_fraction"],
        "predicted_counts": final["predicted_counts"],
        "final_train_loss": rows[-1]["train_loss"],
        "seconds": sum(r["seconds"] for r in rows),
        "images_per_second": sum(r["images_per_second"] for r in rows) / len(rows),
        "parameters": num_params(model),
        "run": str(run_dir),
        "data": str(data_dir),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": device,
    }
    (out_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def write_metrics(path: Path, rows):
    """metrics.rs write_csv: `{},{},{:.6},{:.4}|,{:.4}|,{:.2},{:.1}`."""
    opt = lambda v: "" if v is None else f"{v:.4f}"
    lines = ["epoch,lr,train_loss,accuracy,mae,seconds,images_per_second"]
    for r in rows:
        lines.append(
            f"{r['epoch']},{rust_float(r['lr'])},{r['train_loss']:.6f},{opt(r['accuracy'])},"
            f"{opt(r['mae'])},{r['seconds']:.2f},{r['images_per_second']:.1f}"
        )
    tmp = path.with_suffix(".csv.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True, type=Path, help="hpn run directory (config.toml, head.json)")
    ap.add_argument("--data", required=True, type=Path, help="directory written by `cargo xtask data export`")
    ap.add_argument("--seed", required=True, type=int)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--epochs", type=int, default=None, help="override training.epochs")
    ap.add_argument("--device", default="cpu", help="torch device (default cpu)")
    args = ap.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        train(args.run, args.data, args.seed, args.out, args.epochs, args.device,
              log=lambda s: print(s, flush=True))
    except RecipeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
