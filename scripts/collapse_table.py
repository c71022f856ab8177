#!/usr/bin/env python3
"""Collapse rates and results of hpn runs (and, optionally, of reference/hpn_torch.py runs of
the same settings), as a Markdown table.

    python3 scripts/collapse_table.py RUN_DIR... [--reference REF_ROOT]

Each RUN_DIR is an hpn run directory with summary.json (its seeds marked `collapsed` by hpn).
With --reference, REF_ROOT/<run name>/seed-<s>/result.json are read for the same settings and
judged by hpn's bars: 90 % or more of the test images in one class, accuracy below 1.5 times
chance, or an MAE within 5 % of the constant guess (taken from hpn's collapse.json of the
same setting, whose evaluation set is the same).
"""

import argparse
import json
import math
import pathlib
import statistics
import sys

ONE_CLASS = 0.9
CHANCE_FACTOR = 1.5
CONSTANT_MARGIN = 0.05


def mean_std(values):
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def value_range(values):
    return f"{min(values):.1f}-{max(values):.1f}" if values else "-"


def hpn_seeds(run: pathlib.Path):
    summary = json.loads((run / "summary.json").read_text())
    seeds = []
    for s in summary["seeds"]:
        seeds.append(
            {
                "accuracy": s.get("accuracy"),
                "mae": s.get("mae"),
                "collapsed": bool(s.get("collapsed")),
            }
        )
    return summary["name"], seeds


def constant_mae(run: pathlib.Path):
    for check in sorted(run.glob("seed-*/collapse.json")):
        value = json.loads(check.read_text()).get("constant_mae")
        if value is not None:
            return value
    return None


def reference_seeds(ref: pathlib.Path, classes: int, constant):
    seeds = []
    for result in sorted(ref.glob("seed-*/result.json"), key=lambda p: int(p.parent.name[5:])):
        r = json.loads(result.read_text())
        accuracy, mae = r.get("accuracy"), r.get("mae")
        collapsed = False
        if accuracy is not None and classes > 1:
            fraction = r.get("largest_class_fraction") or 0.0
            collapsed |= fraction >= ONE_CLASS
            collapsed |= accuracy < CHANCE_FACTOR * 100.0 / classes
        if mae is not None and constant:
            collapsed |= mae >= (1.0 - CONSTANT_MARGIN) * constant
        if (accuracy is not None and math.isnan(accuracy)) or (mae is not None and math.isnan(mae)):
            collapsed = True
        seeds.append({"accuracy": accuracy, "mae": mae, "collapsed": collapsed})
    return seeds


def row(label, seeds):
    n = len(seeds)
    collapsed = sum(s["collapsed"] for s in seeds)
    acc = [s["accuracy"] for s in seeds if s["accuracy"] is not None]
    mae = [s["mae"] for s in seeds if s["mae"] is not None]
    trained_acc = [s["accuracy"] for s in seeds if s["accuracy"] is not None and not s["collapsed"]]
    trained_mae = [s["mae"] for s in seeds if s["mae"] is not None and not s["collapsed"]]
    return (
        f"| {label} | {collapsed} of {n} | {mean_std(acc)} | {value_range(acc)} | "
        f"{mean_std(trained_acc)} | {mean_std(mae)} | {value_range(mae)} | {mean_std(trained_mae)} |"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+", type=pathlib.Path)
    parser.add_argument("--reference", type=pathlib.Path)
    args = parser.parse_args()
    print(
        "| run | collapsed | accuracy, all seeds | range | accuracy, trained seeds | "
        "MAE, all seeds | range | MAE, trained seeds |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        if not (run / "summary.json").exists():
            print(f"{run}: no summary.json (not finished), left out", file=sys.stderr)
            continue
        name, seeds = hpn_seeds(run)
        print(row(f"hpn {name}", seeds))
        if args.reference:
            head = json.loads((run / "head.json").read_text())
            classes = len(head.get("class_names") or [])
            ref = args.reference / run.name
            if ref.is_dir():
                print(row(f"reference {name}", reference_seeds(ref, classes, constant_mae(run))))


if __name__ == "__main__":
    main()
