#!/usr/bin/env python3
"""LightGBM's CV MAE on the chart tracks after each of several tree counts, from one fit per fold.

Whether the boosting settings that `tools/compare_peers` shares with LightGBM (2000 trees,
learning rate 0.02, 31 leaves, 20 rows per leaf, bagging 0.8, feature fraction 0.7) have stopped
learning: for each feature set, learning rate and seed, each fold's model is fitted once with the
largest tree count, and its first k trees predict the held-out fold for every k in `--trees`.
Prints a Markdown table of the mean CV MAE over the seeds (sd over seeds in brackets) and, with
`--doc FILE`, writes it into FILE between its `staged:begin` and `staged:end` markers. Run it with
`tools/.venv/bin/python` (made by `tools/compare_peers`), on the folds file that command writes:

    tools/.venv/bin/python tools/lightgbm_staged.py --folds out/peers/folds.csv \\
        --doc docs/PERFORMANCE.md
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare_peers  # noqa: E402  (the same loading, columns, LightGBM settings and CPU name)


def numbers(parser, name, text, kind, zero_allowed=False):
    try:
        values = [kind(part) for part in text.split(",")]
    except ValueError as error:
        parser.error(f"{name} takes comma-separated numbers, not {text!r}: {error}")
    if min(values) < 0 or (min(values) == 0 and not zero_allowed):
        need = "at least zero" if zero_allowed else "above zero"
        parser.error(f"{name} {text!r}: every value must be {need}")
    return values


def staged_mae(x, y, fold, learning_rate, stages, seed, threads):
    """CV MAE after each tree count in `stages` (ascending), one fit per fold."""
    import lightgbm as lgb

    predicted = {trees: np.zeros(len(y)) for trees in stages}
    for k in sorted(set(fold)):
        train, test = fold != k, fold == k
        params = dict(compare_peers.LightGbm(threads, seed).params, learning_rate=learning_rate)
        booster = lgb.train(params, lgb.Dataset(x[train], y[train]), num_boost_round=stages[-1])
        for trees in stages:
            predicted[trees][test] = booster.predict(
                x[test], num_iteration=trees, num_threads=threads)
    return {trees: float(np.abs(predicted[trees] - y).mean()) for trees in stages}


def write_doc(doc, table):
    text = doc.read_text()
    begin, end = "<!-- staged:begin -->", "<!-- staged:end -->"
    if begin not in text or end not in text:
        sys.exit(f"{doc} lacks the {begin} / {end} markers")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    compare_peers.write_atomic(doc, f"{head}{begin}\n{table}\n{end}{tail}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get(
        "SPOTIFY_ML_DATA", str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))))
    parser.add_argument("--features", default="audio+analysis,audio",
                        help="comma-separated feature sets")
    parser.add_argument("--learning-rates", default="0.02,0.05")
    parser.add_argument("--trees", default="1000,2000,3000,4000,6000",
                        help="comma-separated tree counts")
    parser.add_argument("--seeds", default="42,43,44", help="comma-separated seeds")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--doc", type=Path, help="Markdown file to write the table into")
    args = parser.parse_args()
    features = args.features.split(",")
    for name in features:
        if name not in compare_peers.FEATURE_SETS:
            parser.error(f"--features: unknown feature set {name!r} "
                         f"(known: {', '.join(sorted(compare_peers.FEATURE_SETS))})")
    rates = numbers(parser, "--learning-rates", args.learning_rates, float)
    stages = sorted(set(numbers(parser, "--trees", args.trees, int)))
    seeds = numbers(parser, "--seeds", args.seeds, int, zero_allowed=True)

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    for name in features:
        x, y, fold = compare_peers.load(args.data, args.folds, name)
        for rate in rates:
            runs = []
            for seed in seeds:
                runs.append(staged_mae(x, y, fold, rate, stages, seed, args.threads))
                print(f"{name}, rate {rate}, seed {seed} done", file=sys.stderr, flush=True)
            cells = []
            for trees in stages:
                values = np.array([run[trees] for run in runs])
                sd = values.std(ddof=1) if len(values) > 1 else 0.0
                cells.append(f"{values.mean():.5f} ({sd:.5f})")
            rows.append(f"| {name} | {rate} | " + " | ".join(cells) + " |")
    command = "tools/.venv/bin/python tools/lightgbm_staged.py " + " ".join(sys.argv[1:])
    table = "\n".join([
        f"Measured {started} to {time.strftime('%H:%M UTC', time.gmtime())} on "
        f"{os.cpu_count()} cores ({compare_peers.cpu_model()}), {args.threads} threads, seeds "
        f"{args.seeds}; command: `{command}`.",
        "",
        "| features | learning rate | " + " | ".join(f"{t} trees" for t in stages) + " |",
        "|---|---|" + "---|" * len(stages),
        *rows,
    ])
    print(table)
    if args.doc:
        write_doc(args.doc, table)
        print(f"lightgbm_staged: updated {args.doc}", file=sys.stderr)


if __name__ == "__main__":
    main()
