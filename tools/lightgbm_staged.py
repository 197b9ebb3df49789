#!/usr/bin/env python3
"""LightGBM's CV MAE on the chart tracks after each of several tree counts, from one fit per fold.

Whether the boosting settings that `tools/compare_peers` shares with LightGBM (2000 trees,
learning rate 0.02, 31 leaves, 20 rows per leaf, bagging 0.8, feature fraction 0.7) have stopped
learning: each fold's model is fitted once with the largest tree count, and its first k trees
predict the held-out fold for every k in `--trees`. Prints one Markdown row per tree count with
the mean CV MAE over the seeds. Run it with `tools/.venv/bin/python` (made by
`tools/compare_peers`), on the folds file that command writes:

    tools/.venv/bin/python tools/lightgbm_staged.py --folds out/peers/folds.csv \\
        --features audio+analysis --learning-rate 0.02 --trees 1000,2000,3000,4000 --seeds 42,43,44
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare_peers  # noqa: E402  (the same loading, columns and LightGBM settings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=Path, required=True)
    parser.add_argument("--features", choices=sorted(compare_peers.FEATURE_SETS), required=True)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get(
        "SPOTIFY_ML_DATA", str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))))
    parser.add_argument("--learning-rate", type=float, default=0.02)
    parser.add_argument("--trees", default="1000,2000,3000,4000",
                        help="comma-separated tree counts, each at most the largest")
    parser.add_argument("--seeds", default="42,43,44", help="comma-separated seeds")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import lightgbm as lgb

    try:
        stages = sorted({int(t) for t in args.trees.split(",")})
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError as error:
        parser.error(f"--trees and --seeds take comma-separated whole numbers: {error}")
    if not stages or stages[0] < 1:
        parser.error(f"--trees {args.trees!r}: tree counts must be at least 1")
    x, y, fold = compare_peers.load(args.data, args.folds, args.features)
    mae = {trees: [] for trees in stages}
    for seed in seeds:
        predicted = {trees: np.zeros(len(y)) for trees in stages}
        for k in sorted(set(fold)):
            train, test = fold != k, fold == k
            params = compare_peers.LightGbm(args.threads, seed).params
            params["learning_rate"] = args.learning_rate
            booster = lgb.train(params, lgb.Dataset(x[train], y[train]),
                                num_boost_round=stages[-1])
            for trees in stages:
                predicted[trees][test] = booster.predict(
                    x[test], num_iteration=trees, num_threads=args.threads)
        for trees in stages:
            mae[trees].append(float(np.abs(predicted[trees] - y).mean()))
        print(f"seed {seed} done", file=sys.stderr, flush=True)
    print(f"LightGBM 4, {args.features}, learning rate {args.learning_rate}, "
          f"seeds {args.seeds}, folds {args.folds}")
    print()
    print("| trees | CV MAE (mean over seeds) | sd over seeds |")
    print("|---|---|---|")
    for trees in stages:
        values = np.array(mae[trees])
        sd = values.std(ddof=1) if len(values) > 1 else 0.0
        print(f"| {trees} | {values.mean():.5f} | {sd:.5f} |")


if __name__ == "__main__":
    main()
