#!/usr/bin/env python3
"""Python LightGBM 4 and perpetual on the folds that `examples/boosting_candidates.rs` wrote.

Scores 5-fold CV MAE and mean fit seconds per fold on the chart tracks, for the `audio` and
`audio+analysis` feature sets, with the rows, columns and folds the Rust side used. LightGBM
runs with the settings the Rust candidates copy (2000 trees, learning rate 0.02, 31 leaves,
bagging 0.8 every tree, feature fraction 0.7, defaults otherwise: 20 rows per leaf, 255 bins);
`perpetual` (PyPI, the same Rust core as the crate) runs with its `budget` only. A fit is timed
from the numpy matrix, so LightGBM's binning (Dataset construction) counts, as the Rust fits'
binning does. Fits run one at a time with `num_threads` = `--threads`.

Then prints one table with every candidate's ratios to LightGBM. Run through
`tools/compare_boosting`, which also runs the Rust side:

    tools/.venv/bin/python tools/compare_boosting.py --folds out/boosting/folds.csv \
        --rust-json out/boosting/rust.json --threads 2
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

# The column order of `dataset::FeatureSet::audio()` and `audio_with_analysis()`.
AUDIO = [
    "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
    "instrumentalness", "liveness", "tempo", "duration_ms", "time_signature",
]
ANALYSIS = [f"pitch_{i}" for i in range(12)] + [f"timbre_{i}" for i in range(12)]
FEATURE_SETS = {"audio": AUDIO, "audio+analysis": AUDIO + ANALYSIS}


def data_dir(explicit):
    if explicit:
        return Path(explicit)
    if os.environ.get("SPOTIFY_ML_DATA"):
        return Path(os.environ["SPOTIFY_ML_DATA"])
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def load(directory, folds_path):
    tracks = pd.read_csv(directory / "valence" / "chart_tracks.csv")
    analysis = pd.read_csv(directory / "valence" / "chart_tracks_analysis.csv")
    folds = pd.read_csv(folds_path)
    if len(folds) != len(tracks) or not (folds["id"].to_numpy() == tracks["id"].to_numpy()).all():
        sys.exit(f"{folds_path} does not list the rows of chart_tracks.csv in file order")
    if analysis["id"].duplicated().any():
        sys.exit("chart_tracks_analysis.csv has an id twice")
    # A left join keeps the file order; tracks without analysis get NaN and are dropped per set.
    joined = tracks.merge(analysis, on="id", how="left", validate="one_to_one")
    joined["fold"] = folds["fold"].to_numpy()
    return joined


def lightgbm_fit(x, y, threads, seed):
    params = {
        "objective": "regression",
        "learning_rate": 0.02,
        "num_leaves": 31,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "feature_fraction": 0.7,
        "num_threads": threads,
        "seed": seed,
        "verbose": -1,
    }
    return lgb.train(params, lgb.Dataset(x, y), num_boost_round=2000)


def perpetual_fit(budget):
    def fit(x, y, threads, seed):
        from perpetual import PerpetualBooster

        model = PerpetualBooster(
            objective="SquaredLoss", budget=budget, num_threads=threads,
            categorical_features=None, seed=seed,
        )
        return model.fit(x, y)

    return fit


def measure(name, fit, frame, columns, threads, seed):
    x = frame[columns].to_numpy(dtype=np.float64)
    y = frame["valence"].to_numpy(dtype=np.float64)
    fold = frame["fold"].to_numpy()
    fold_mae, fit_seconds = [], []
    for k in sorted(np.unique(fold)):
        train, test = fold != k, fold == k
        start = time.perf_counter()
        model = fit(x[train], y[train], threads, seed)
        seconds = time.perf_counter() - start
        predicted = model.predict(x[test])
        fold_mae.append(float(np.mean(np.abs(predicted - y[test]))))
        fit_seconds.append(seconds)
        print(f"  {name:<26} {len(columns):>2} columns fold {k}: {seconds:.2f} s", file=sys.stderr)
    return {
        "mae": float(np.mean(fold_mae)),
        "mae_sd": float(np.std(fold_mae)),
        "fold_mae": fold_mae,
        "mean_fit_seconds": float(np.mean(fit_seconds)),
        # Robust to a fold slowed by other work on a shared machine.
        "median_fit_seconds": float(np.median(fit_seconds)),
        "fit_seconds": fit_seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="data directory (default $SPOTIFY_ML_DATA, else ../shared/data)")
    parser.add_argument("--folds", required=True, help="row,id,fold CSV from boosting_candidates")
    parser.add_argument("--rust-json", help="measurements of the Rust candidates, to combine")
    parser.add_argument("--json-out", help="where to write the Python measurements")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--perpetual-budgets", default="1.0,0.5",
                        help="comma-separated budgets; empty to skip perpetual")
    args = parser.parse_args()

    frame = load(data_dir(args.data), args.folds)
    candidates = [(f"Python LightGBM {lgb.__version__}", lightgbm_fit)]
    for budget in filter(None, args.perpetual_budgets.split(",")):
        from importlib.metadata import version

        candidates.append((f"perpetual {version('perpetual')} budget {float(budget)}",
                           perpetual_fit(float(budget))))

    results = []
    for set_name, columns in FEATURE_SETS.items():
        covered = frame.dropna(subset=columns)
        for name, fit in candidates:
            result = measure(name, fit, covered, columns, args.threads, args.seed)
            results.append({"candidate": name, "features": set_name, "rows": len(covered),
                            "columns": len(columns), "threads": args.threads, **result})
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))

    rust = json.loads(Path(args.rust_json).read_text()) if args.rust_json else []
    every = rust + results
    reference = {r["features"]: r for r in results if r["candidate"].startswith("Python LightGBM")}
    print(f"\n{len(frame)} chart tracks, {frame['fold'].nunique()} group folds, "
          f"{args.threads} threads per fit, fits one at a time\n")
    header = (f"| {'candidate':<30} | {'features':<14} | {'CV MAE':>7} | {'± sd':>6} "
              f"| {'mean s/fit':>10} | {'median s/fit':>12} | {'MAE / LGBM':>10} "
              f"| {'median time / LGBM':>18} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for set_name in FEATURE_SETS:
        base = reference[set_name]
        for r in (r for r in every if r["features"] == set_name):
            print(f"| {r['candidate']:<30} | {set_name:<14} | {r['mae']:>7.4f} | {r['mae_sd']:>6.4f} "
                  f"| {r['mean_fit_seconds']:>10.2f} | {r['median_fit_seconds']:>12.2f} "
                  f"| {r['mae'] / base['mae']:>10.3f} "
                  f"| {r['median_fit_seconds'] / base['median_fit_seconds']:>18.2f} |")


if __name__ == "__main__":
    main()
