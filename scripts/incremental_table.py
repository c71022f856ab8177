#!/usr/bin/env python3
"""The class-incremental results of hpn runs as a Markdown table.

    python3 scripts/incremental_table.py runs/incremental

Reads every second-phase run under the folder (a seed-<s>/incremental.json per seed) and
prints, per run, the first phase's accuracy on the old classes and the second phase's accuracy
on the old classes, the new ones and all of them: mean ± std over the seeds, and each seed.
"""

import json
import pathlib
import statistics
import sys


def mean_std(values):
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "runs/incremental")
    print(
        "| run | seeds | old classes after phase 1 | old classes after phase 2 | "
        "new classes | all classes | per seed (old / new / all) |"
    )
    print("|---|---|---|---|---|---|---|")
    for run in sorted(p for p in root.iterdir() if p.is_dir()):
        reports = []
        for f in sorted(run.glob("seed-*/incremental.json"), key=lambda p: int(p.parent.name[5:])):
            reports.append((int(f.parent.name[5:]), json.loads(f.read_text())))
        if not reports:
            continue
        col = lambda key: [r[key] for _, r in reports if r.get(key) is not None]
        per_seed = "; ".join(
            f"{s}: {r['old_accuracy']:.1f} / {r['new_accuracy']:.1f} / {r['all_accuracy']:.1f}"
            for s, r in reports
        )
        print(
            f"| {run.name} | {len(reports)} | {mean_std(col('first_phase_accuracy'))} | "
            f"{mean_std(col('old_accuracy'))} | {mean_std(col('new_accuracy'))} | "
            f"{mean_std(col('all_accuracy'))} | {per_seed} |"
        )


if __name__ == "__main__":
    main()
