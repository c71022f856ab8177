"""Unit checks of reference/hpn_torch.py against hand-computed values and hpn's documented
numbers. Run with `python3 -m unittest reference/test_hpn_torch.py` (or `discover reference`);
everything is skipped when torch or numpy is not installed."""

import csv
import json
import math
import sys
import tempfile
import unittest
from pathlib import Path

try:
    import numpy as np
    import torch
    MISSING = None
except ImportError as error:  # pragma: no cover - depends on the machine
    MISSING = str(error)

if MISSING is None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import hpn_torch as h  # noqa: E402

    torch.set_num_threads(1)

requires_torch = unittest.skipIf(MISSING is not None, f"torch / numpy not installed ({MISSING})")


def t(rows):
    return torch.tensor(rows, dtype=torch.float32)


def labels(values):
    return torch.tensor(values, dtype=torch.int64)


@requires_torch
class Losses(unittest.TestCase):
    def test_orthogonal_output_costs_one(self):
        # z = (1, 0), p = (0, 1): cos 0, (1 - 0)^2 = 1.
        loss = h.classification_loss(t([[1.0, 0.0]]), t([[0.0, 1.0]]), labels([0]), "sum")
        self.assertAlmostEqual(float(loss), 1.0, places=6)

    def test_hand_computed_sum_and_mean(self):
        p = t([[1.0, 0.0], [0.0, 1.0]])
        z = t([[1.0, 1.0], [3.0, 4.0], [0.0, -2.0]])
        y = labels([0, 1, 0])
        expected = (1.0 - math.sqrt(0.5)) ** 2 + 0.04 + 1.0
        self.assertAlmostEqual(float(h.classification_loss(z, p, y, "sum")), expected, places=5)
        self.assertAlmostEqual(float(h.classification_loss(z, p, y, "mean")), expected / 3, places=5)

    def test_signed_cosine_opposite_costs_four(self):
        p = t([[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]])
        z = t([[-0.6, -0.8, 0.0], [0.0, 0.0, -5.0]])
        self.assertAlmostEqual(float(h.classification_loss(z, p, labels([0, 1]), "mean")), 4.0, places=5)

    def test_zero_output_has_unit_loss_and_finite_gradient(self):
        p = t([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        z = torch.zeros(3, 3, requires_grad=True)
        loss = h.classification_loss(z, p, labels([0, 1, 1]), "sum")
        loss.backward()
        self.assertAlmostEqual(float(loss.detach()), 3.0, places=6)
        self.assertTrue(torch.isfinite(z.grad).all())

    def test_gradient_is_eq2(self):
        gen = torch.Generator().manual_seed(3)
        z = torch.randn(5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
        p = torch.randn(3, 4, generator=gen, dtype=torch.float64) * torch.tensor([[0.5], [1.5], [2.5]], dtype=torch.float64)
        y = labels([0, 2, 1, 1, 0])
        h.classification_loss(z, p, y, "sum").backward()
        with torch.no_grad():
            for i in range(5):
                zi, pi = z[i], p[y[i]]
                cos = zi @ pi / (zi.norm() * pi.norm())
                eq2 = 2 * (1 - cos) * (cos * zi / zi.norm() ** 2 - pi / (zi.norm() * pi.norm()))
                self.assertTrue(torch.allclose(z.grad[i], eq2, atol=1e-8))

    def test_prediction_is_largest_cosine_not_dot(self):
        p = t([[1.0, 0.0], [0.0, 10.0], [-1.0, 0.0]])
        z = t([[1.0, 0.9], [-2.0, 0.1], [0.1, 3.0]])
        self.assertEqual(h.cosine_matrix(z, p).argmax(1).tolist(), [0, 2, 1])

    def test_regression_target_round_trip(self):
        bounds = (1000.0, 1932.0)
        y = torch.tensor([1000.0, 1466.0, 1932.0, 1234.5])
        r = h.encode_targets(y, bounds)
        self.assertTrue(torch.allclose(r[:3], torch.tensor([-1.0, 0.0, 1.0])))
        self.assertTrue(torch.allclose(h.decode_targets(r, bounds), y, atol=1e-3))
        # Values outside the bounds are not clipped.
        self.assertAlmostEqual(float(h.encode_targets(torch.tensor(2398.0), bounds)), 2.0, places=5)
        # Rotated MNIST: angles in [0, 180] degrees.
        ang = torch.tensor([0.0, 45.0, 90.0, 180.0])
        self.assertTrue(torch.allclose(h.encode_targets(ang, (0.0, 180.0)), torch.tensor([-1.0, -0.5, 0.0, 1.0])))

    def test_regression_loss_and_read_out(self):
        pole = torch.tensor([1.0, 0.0])
        bounds = (0.0, 4.0)
        z = t([[1.0, 1.0], [0.0, 3.0]])  # cos 1/sqrt(2) and 0
        y = torch.tensor([4.0, 2.0])     # r = 1 and 0
        expected = (1.0 - math.sqrt(0.5)) ** 2 + 0.0
        self.assertAlmostEqual(float(h.regression_loss(z, pole, y, bounds, "sum")), expected, places=5)
        recipe = h.parse_config({"task": "regression", "prototypes": {"dims": 2}})
        head = h.Head(recipe, 0, None, bounds)
        values = head.predicted_values(z)
        self.assertTrue(torch.allclose(values, torch.tensor([2.0 + 2.0 * math.sqrt(0.5), 2.0]), atol=1e-5))
        self.assertIsNone(head.predicted_classes(z))

    def test_joint_loss_uses_axis_zero_for_the_pole(self):
        bounds = (0.0, 4.0)
        classes = t([[1.0, 0.0], [0.0, 1.0]])
        z = t([[1.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
        y = torch.tensor([4.0, 2.0])
        l_r = (1.0 - math.sqrt(0.5)) ** 2
        l_c = 1.0
        for weight, expected in ((None, l_r + l_c), (0.25, 0.75 * l_r + 0.25 * l_c), (1.0, l_c)):
            cfg = {"task": "joint", "prototypes": {"dims": 3}}
            if weight is not None:
                cfg["loss"] = {"task_weight": weight}
            head = h.Head(h.parse_config(cfg), 2, classes, bounds)
            self.assertEqual(head.width, 3)
            self.assertAlmostEqual(float(head.loss(z, labels([0, 0]), y)), expected, places=5)
        self.assertEqual(head.predicted_classes(z).tolist(), [0, 1])

    def test_baselines(self):
        logits = t([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
        lse0 = math.log(math.exp(1) + math.exp(2) + math.exp(3))
        expected = (lse0 - 1.0) + math.log(3.0)
        self.assertAlmostEqual(float(h.softmax_cross_entropy(logits, labels([0, 2]), "sum")), expected, places=5)
        self.assertAlmostEqual(float(h.softmax_cross_entropy(logits, labels([0, 2]), "mean")), expected / 2, places=5)
        out = t([[0.25], [1.7], [-3.0]])
        y = torch.tensor([150.0, 200.0, 100.0])
        self.assertAlmostEqual(float(h.mse_regression_loss(out, y, (100.0, 200.0), "sum")), 0.0625, places=6)
        head = h.Head(h.parse_config({"task": "regression", "loss": {"kind": "mse"}}), 0, None, (100.0, 200.0))
        self.assertEqual(head.width, 1)
        self.assertEqual(head.predicted_values(out).tolist(), [125.0, 200.0, 100.0])
        cfg = {"task": "joint", "loss": {"kind": "multitask", "task_weight": 0.2, "reduction": "sum"}}
        head = h.Head(h.parse_config(cfg), 2, None, (0.0, 1.0))
        self.assertEqual(head.width, 3)
        loss = head.loss(t([[0.5, 0.0, 0.0]]), labels([1]), torch.tensor([1.0]))
        self.assertAlmostEqual(float(loss), 0.8 * 0.25 + 0.2 * math.log(2.0), places=6)

    def test_default_reduction_per_kind(self):
        self.assertEqual(h.parse_config({}).reduction, "sum")
        self.assertEqual(h.parse_config({"loss": {"kind": "softmax-ce"}}).reduction, "mean")


def cifar_resnet(n, w, shortcut, d):
    """The hand count of crates/hpn-models/tests/models/param_counts.rs."""
    conv = lambda k, i, o: k * k * i * o
    bn = lambda c: 2 * c
    block = lambda i, o: conv(3, i, o) + bn(o) + conv(3, o, o) + bn(o)
    proj = lambda i, o: {"conv3x3": conv(3, i, o) + bn(o), "conv1x1": conv(1, i, o) + bn(o), "zero-pad": 0}[shortcut]
    c1, c2, c3 = 16 * w, 32 * w, 64 * w
    return (conv(3, 3, c1) + bn(c1) + n * block(c1, c1)
            + block(c1, c2) + proj(c1, c2) + (n - 1) * block(c2, c2)
            + block(c2, c3) + proj(c2, c3) + (n - 1) * block(c3, c3) + c3 * d + d)


@requires_torch
class Networks(unittest.TestCase):
    def setUp(self):
        self.gen = torch.Generator().manual_seed(0)

    def recipe(self, backbone, shortcut="conv3x3"):
        return h.parse_config({"model": {"backbone": backbone, "shortcut": shortcut}})

    def test_convnet_counts(self):
        for c, d in ((1, 3), (1, 10), (3, 10)):
            plain = h.build_model(self.recipe("convnet"), c, d, self.gen)
            self.assertEqual(h.num_params(plain), 288 * c + 420_064 + 129 * d)
            bn = h.build_model(self.recipe("convnet-bn"), c, d, self.gen)
            self.assertEqual(h.num_params(bn), 288 * c + 420_064 + 129 * d + 2 * (32 + 64 + 128))

    def test_resnet32_counts(self):
        for d in (2, 10, 100):
            self.assertEqual(h.num_params(h.build_model(self.recipe("resnet32"), 3, d, self.gen)), 486_736 + 65 * d)
        self.assertEqual(cifar_resnet(5, 1, "conv3x3", 100), 493_236)

    def test_resnet_cifar_shortcuts_depths_widths(self):
        for shortcut in ("conv3x3", "conv1x1", "zero-pad"):
            m = h.build_model(self.recipe("resnet32", shortcut), 3, 25, self.gen)
            self.assertEqual(h.num_params(m), cifar_resnet(5, 1, shortcut, 25), shortcut)
        wide = h.build_model(self.recipe({"resnet-cifar": {"depth": 20, "width": 2}}), 3, 10, self.gen)
        self.assertEqual(h.num_params(wide), cifar_resnet(3, 2, "conv3x3", 10))
        tiny = h.build_model(self.recipe({"resnet-cifar": {"depth": 8, "width": 1}}), 3, 3, self.gen)
        self.assertEqual(h.num_params(tiny), cifar_resnet(1, 1, "conv3x3", 3))
        for shortcut in ("conv3x3", "conv1x1", "zero-pad"):
            m = h.build_model(self.recipe({"resnet-cifar": {"depth": 8, "width": 1}}, shortcut), 3, 5, self.gen)
            self.assertEqual(tuple(m(torch.randn(2, 3, 32, 32)).shape), (2, 5))
            self.assertEqual(tuple(m(torch.randn(2, 3, 64, 64)).shape), (2, 5))

    def test_convnet_takes_other_sizes(self):
        m = h.build_model(self.recipe("convnet-bn"), 3, 7, self.gen)
        self.assertEqual(tuple(m(torch.randn(4, 3, 32, 32)).shape), (4, 7))
        self.assertEqual(tuple(m(torch.randn(4, 3, 4, 4)).shape), (4, 7))

    def test_convnet_init_scales(self):
        # Weights and biases N(0, gain / sqrt(fan_in)); checked on the largest layer.
        m = h.ConvNet(1, 10, False, torch.Generator().manual_seed(1))
        self.assertAlmostEqual(float(m.fc1.weight.std()), math.sqrt(2.0 / 3136), delta=0.02 * math.sqrt(2.0 / 3136))
        self.assertAlmostEqual(float(m.conv2.weight.std()), math.sqrt(2.0 / 288), delta=0.05 * math.sqrt(2.0 / 288))
        self.assertGreater(float(m.fc1.bias.abs().max()), 0.0)  # not zeros: Burn draws biases too
        r = h.ResNetCifar(5, 1, 3, 10, "conv3x3", torch.Generator().manual_seed(1))
        std = math.sqrt(2.0 / (9 * 64))
        self.assertAlmostEqual(float(r.layer3[1].conv1.weight.std()), std, delta=0.03 * std)
        self.assertLessEqual(float(r.fc.weight.abs().max()), 1.0 / 8.0)

    def test_batch_norm_running_var_is_biased(self):
        bn = h.BatchNorm(2)
        x = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
        y = bn(x)
        self.assertTrue(torch.allclose(y, torch.tensor([[-1.0, -1.0], [1.0, 1.0]]), atol=1e-3))
        # batch means (2, 2), biased variances (1, 4): r = 0.9 r + 0.1 s.
        self.assertTrue(torch.allclose(bn.running_mean, torch.tensor([0.2, 0.2])))
        self.assertTrue(torch.allclose(bn.running_var, torch.tensor([0.9 + 0.1, 0.9 + 0.4])))
        bn.eval()
        self.assertTrue(torch.allclose(bn(x), (x - bn.running_mean) / torch.sqrt(bn.running_var + 1e-5)))


@requires_torch
class Data(unittest.TestCase):
    def naive_crop_flip(self, img, p, oy, ox, flip):
        c, hh, ww = img.shape
        out = np.zeros_like(img)
        for y in range(hh):
            for x in range(ww):
                xx = ww - 1 - x if flip else x
                sy, sx = oy - p + y, ox - p + xx
                if 0 <= sy < hh and 0 <= sx < ww:
                    out[:, y, x] = img[:, sy, sx]
        return out

    def test_crop_flip_matches_the_pixel_formula(self):
        rng = np.random.default_rng(0)
        imgs = rng.integers(1, 256, size=(6, 3, 5, 7), dtype=np.uint8)
        p = 2
        oy = np.array([0, 2, 4, 1, 3, 2])
        ox = np.array([4, 2, 0, 3, 1, 2])
        flip = np.array([False, False, True, True, False, True])
        got = h.crop_flip(torch.from_numpy(imgs), p, torch.from_numpy(oy), torch.from_numpy(ox),
                          torch.from_numpy(flip)).numpy()
        for i in range(6):
            np.testing.assert_array_equal(got[i], self.naive_crop_flip(imgs[i], p, oy[i], ox[i], flip[i]))
        # The centre crop without flip is the image itself.
        np.testing.assert_array_equal(got[1], imgs[1])

    def test_normalization(self):
        scale, offset = h.normalization_affine(*h.parse_normalization("mnist"), 1)
        x = torch.tensor([0.0, 255.0]).reshape(1, 1, 1, 2) * scale + offset
        self.assertTrue(torch.allclose(x.flatten(), torch.tensor([-0.1307 / 0.3081, (1 - 0.1307) / 0.3081])))
        # Three constants on a grey image become their mean.
        scale, offset = h.normalization_affine(*h.parse_normalization("cifar"), 1)
        m, s = (0.507 + 0.487 + 0.441) / 3, (0.267 + 0.256 + 0.276) / 3
        self.assertAlmostEqual(float(offset.flatten()[0]), -m / s, places=5)
        scale, offset = h.normalization_affine(*h.parse_normalization({"mean": [0.5], "std": [0.25]}), 3)
        self.assertEqual(tuple(offset.shape), (1, 3, 1, 1))
        self.assertAlmostEqual(float(scale.flatten()[2]), 1 / (255 * 0.25), places=7)
        scale, offset = h.normalization_affine(*h.parse_normalization("none"), 3)
        self.assertAlmostEqual(float(scale.flatten()[0]), 1 / 255, places=8)

    def test_batches_keep_the_last_partial_batch(self):
        x = torch.arange(10)
        sizes = [len(b[0]) for b in h.Batches(x, x, x, torch.arange(10), 4)]
        self.assertEqual(sizes, [4, 4, 2])


@requires_torch
class Schedule(unittest.TestCase):
    def test_milestones_are_zero_based(self):
        r = h.parse_config({"optimizer": {"learning_rate": 0.001, "milestones": [8], "gamma": 0.1}})
        self.assertEqual(h.learning_rate_at(r, 7), 0.001)
        self.assertEqual(h.rust_float(h.learning_rate_at(r, 8)), "0.0001")
        r = h.parse_config({})
        self.assertEqual([h.learning_rate_at(r, e) for e in (0, 99)], [0.01, 0.01])
        self.assertAlmostEqual(h.learning_rate_at(r, 100), 1e-3)
        self.assertAlmostEqual(h.learning_rate_at(r, 200), 1e-4)

    def test_rust_float_format(self):
        self.assertEqual(h.rust_float(0.001), "0.001")
        self.assertEqual(h.rust_float(1e-5), "0.00001")
        self.assertEqual(h.rust_float(1.0), "1")
        self.assertEqual(h.rust_float(0.1 * 0.1), "0.010000000000000002")


@requires_torch
class Config(unittest.TestCase):
    def assert_error(self, cfg, *words):
        with self.assertRaises(h.RecipeError) as caught:
            h.parse_config(cfg)
        for w in words:
            self.assertIn(w, str(caught.exception))

    def test_unsupported_values_name_key_and_value(self):
        self.assert_error({"model": {"backbone": "densenet121"}}, "model.backbone", "densenet121")
        self.assert_error({"model": {"backbone": "resnet18"}}, "model.backbone", "resnet18")
        self.assert_error({"model": {"shortcut": "conv5x5"}}, "model.shortcut", "conv5x5")
        self.assert_error({"dataset": {"augmentation": {"kind": "random-resized-crop", "size": 224}}},
                          "dataset.augmentation.kind", "random-resized-crop")
        self.assert_error({"dataset": {"normalization": "imagenet2"}}, "dataset.normalization", "imagenet2")
        self.assert_error({"loss": {"kind": "arcface"}}, "loss.kind", "arcface")
        self.assert_error({"loss": {"kind": "mse"}}, "loss.kind", "mse")  # mse is for regression
        self.assert_error({"open_set": {"unknown_classes": [8, 9]}}, "open_set")
        self.assert_error({"optimizer": {"nesterov": True}}, "optimizer.nesterov")
        self.assert_error({"model": {"backbone": {"resnet-cifar": {"depth": 21, "width": 1}}}}, "depth", "21")

    def test_quickstart_config(self):
        root = Path(__file__).resolve().parent.parent
        path = root / "runs" / "quickstart" / "config.toml"
        if not path.exists():
            self.skipTest("runs/quickstart not present")
        import tomllib
        r = h.parse_config(tomllib.loads(path.read_text()))
        self.assertEqual((r.backbone, r.loss_kind, r.reduction, r.dims), ("convnet", "hpn", "sum", 10))
        self.assertEqual((r.learning_rate, r.momentum, r.dampening, r.weight_decay), (0.001, 0.9, 0.0, 0.0001))
        self.assertEqual((r.milestones, r.batch_size, r.epochs, r.eval_every), ([8], 128, 10, 1))


def make_run(root: Path, cfg_text: str, head: dict, prototypes=None):
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text(cfg_text)
    (root / "head.json").write_text(json.dumps(head))
    if prototypes is not None:
        np.save(root / head["prototypes_file"], prototypes.astype(np.float32))


def make_data(root: Path, n, shape, classes, targets=False, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, m in (("train", n), ("eval", n // 2)):
        y = rng.integers(0, classes, size=m)
        x = rng.integers(0, 40, size=(m, *shape)).astype(np.uint8)
        # A learnable signal: a bright block whose row depends on the class.
        for i in range(m):
            x[i, :, 2 * y[i]: 2 * y[i] + 2, :] = 250
        np.save(root / f"{split}_images.npy", x)
        np.save(root / f"{split}_labels.npy", y.astype(np.int64))
        if targets:
            np.save(root / f"{split}_targets.npy", (rng.random(m) * 180).astype(np.float32))


@requires_torch
class EndToEnd(unittest.TestCase):
    def read_csv(self, path):
        with open(path) as f:
            return list(csv.reader(f))

    def test_classification_run_writes_hpn_columns(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            cfg = ('name = "tiny"\ntask = "classification"\n[model]\nbackbone = "convnet"\n'
                   '[prototypes]\ndims = 3\n[loss]\nkind = "hpn"\nreduction = "sum"\n'
                   '[optimizer]\nlearning_rate = 0.001\nmilestones = [2]\n'
                   '[training]\nepochs = 4\nbatch_size = 16\neval_every = 3\neval_batch_size = 7\n')
            protos = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
            head = {"task": "classification", "class_names": ["a", "b", "c"], "output_width": 3,
                    "image_shape": [1, 28, 28], "bounds": None, "prototypes_file": "p.npy"}
            make_run(tmp / "run", cfg, head, protos)
            make_data(tmp / "data", 40, (1, 28, 28), 3)
            result = h.train(tmp / "run", tmp / "data", 5, tmp / "out", None, log=lambda s: None)
            rows = self.read_csv(tmp / "out" / "metrics.csv")
            self.assertEqual(rows[0], ["epoch", "lr", "train_loss", "accuracy", "mae", "seconds", "images_per_second"])
            self.assertEqual([r[0] for r in rows[1:]], ["1", "2", "3", "4"])
            self.assertEqual([r[1] for r in rows[1:]], ["0.001", "0.001", "0.0001", "0.0001"])
            self.assertEqual([bool(r[3]) for r in rows[1:]], [False, False, True, True])
            self.assertTrue(all(r[4] == "" for r in rows[1:]))
            saved = json.loads((tmp / "out" / "result.json").read_text())
            self.assertEqual(saved["accuracy"], result["accuracy"])
            self.assertEqual(float(rows[-1][3]), round(result["accuracy"], 4))
            self.assertIsNone(saved["mae"])
            self.assertTrue(0 < saved["largest_class_fraction"] <= 1)
            self.assertEqual(sum(saved["predicted_counts"]), 20)

    def test_joint_run_with_bn_and_crop_flip(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            cfg = ('name = "tiny-joint"\ntask = "joint"\n[dataset]\nnormalization = "none"\n'
                   '[dataset.augmentation]\nkind = "crop-flip"\npadding = 2\n'
                   '[model]\nbackbone = "convnet-bn"\n[prototypes]\ndims = 3\n'
                   '[loss]\nkind = "hpn"\ntask_weight = 0.5\n'
                   '[training]\nepochs = 2\nbatch_size = 8\neval_every = 1\neval_batch_size = 500\n')
            protos = np.array([[1, 0], [-1, 0]], dtype=np.float32)
            head = {"task": "joint", "class_names": ["a", "b"], "output_width": 3,
                    "image_shape": [1, 12, 12], "bounds": [0.0, 180.0], "prototypes_file": "p.npy"}
            make_run(tmp / "run", cfg, head, protos)
            make_data(tmp / "data", 24, (1, 12, 12), 2, targets=True)
            result = h.train(tmp / "run", tmp / "data", 1, tmp / "out", None, log=lambda s: None)
            rows = self.read_csv(tmp / "out" / "metrics.csv")
            self.assertTrue(all(r[3] and r[4] for r in rows[1:]))
            self.assertIsNotNone(result["mae"])
            self.assertLess(result["mae"], 180.0)

    def test_regression_and_softmax_resnet_runs(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            cfg = ('name = "tiny-reg"\ntask = "regression"\n[dataset]\nnormalization = "cifar"\n'
                   '[model]\nbackbone = { resnet-cifar = { depth = 8, width = 1 } }\nshortcut = "zero-pad"\n'
                   '[prototypes]\ndims = 2\n[training]\nepochs = 1\nbatch_size = 8\n')
            head = {"task": "regression", "class_names": ["x"], "output_width": 2,
                    "image_shape": [3, 8, 8], "bounds": None, "prototypes_file": None}
            make_run(tmp / "reg", cfg, head)
            make_data(tmp / "data3", 16, (3, 8, 8), 1, targets=True)
            result = h.train(tmp / "reg", tmp / "data3", 1, tmp / "out-reg", None, log=lambda s: None)
            self.assertIsNone(result["accuracy"])
            self.assertIsNotNone(result["mae"])
            cfg = ('name = "tiny-ce"\n[dataset]\nnormalization = "cifar"\n'
                   '[model]\nbackbone = "resnet32"\n[loss]\nkind = "softmax-ce"\n'
                   '[training]\nepochs = 1\nbatch_size = 8\n')
            head = {"task": "classification", "class_names": ["a", "b", "c", "d"], "output_width": 4,
                    "image_shape": [3, 8, 8], "bounds": None, "prototypes_file": None}
            make_run(tmp / "ce", cfg, head)
            make_data(tmp / "data4", 16, (3, 8, 8), 4)
            result = h.train(tmp / "ce", tmp / "data4", 2, tmp / "out-ce", None, log=lambda s: None)
            self.assertIsNotNone(result["accuracy"])
            self.assertEqual(result["parameters"], 486_736 + 65 * 4)

    def test_mismatched_inputs_are_errors(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            cfg = 'name = "bad"\n[prototypes]\ndims = 3\n[training]\nepochs = 1\n'
            head = {"task": "classification", "class_names": ["a", "b"], "output_width": 3,
                    "image_shape": [1, 28, 28], "bounds": None, "prototypes_file": "p.npy"}
            make_run(tmp / "run", cfg, head, np.eye(3, dtype=np.float32))  # 3 rows for 2 classes
            make_data(tmp / "data", 8, (1, 28, 28), 2)
            with self.assertRaises(h.RecipeError):
                h.train(tmp / "run", tmp / "data", 1, tmp / "out", None, log=lambda s: None)


if __name__ == "__main__":
    unittest.main()
