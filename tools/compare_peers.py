#!/usr/bin/env python3
"""The Python peers of `tools/compare_peers`, one model per process, and the report.

`--one PEER` measures one peer on one feature set, on the folds the Rust side wrote, and prints
one JSON object shaped like `examples/peer_measure.rs`'s: CV MAE, mean fit seconds per fold,
training rows per second, prediction rows per second for a resampled batch, the resident set
after loading the data and its high-water mark after the fits (both from /proc/self/status, as on
the Rust side). The settings copy the Rust side's, which its doc comment lists:

- `lightgbm`: LightGBM 4, 2000 trees, learning rate 0.02, 31 leaves, 20 rows per leaf, bagging
  0.8 every tree, feature fraction 0.7, timed from the numpy matrix (binning counts);
- `sklearn_forest`: scikit-learn `RandomForestRegressor`, 100 trees, depth 12, 5 rows per leaf,
  10 rows to split, a third of the features per split, `n_jobs` = threads;
- `sklearn_mlp`: scikit-learn `MLPRegressor` (256, 128), ReLU, Adam 1e-3, batch 256, 40 epochs,
  squared error, on standardised inputs (it has no dropout nor decoupled weight decay);
- `torch_mlp`: PyTorch 2.13, the identical network and training as the Rust side: 256 -> 128 -> 1,
  ReLU, dropout 0.1, AdamW (1e-3, weight decay 0.01), batch 256, MSE, 40 shuffled epochs.

`--predict FEATURES` (the `--only predict` mode of `tools/compare_peers`) fits the LightGBM model
above on every chart track with the features, predicts a batch of `--predict-rows` rows (row `i`
is track `(i * 2654435761) % n`, the batch of `crates/classic-models/examples/predict_throughput.rs`)
on `--threads` threads, the fastest of `--repeats` timings, compares its predictions with the
workspace's (`--rust-predictions`, little-endian f64) and prints one JSON object.
`--predict-report DIR` sets those beside the workspace's (`DIR/*.json`) with the ratios.

`--report DIR` reads every `DIR/*.json` (and `DIR/seeds/*.json`, the boosting's MAE under further
seeds) and writes the Markdown table with the ratios (spotify-ml / peer) to stdout.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

AUDIO = [
    "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
    "instrumentalness", "liveness", "tempo", "duration_ms", "time_signature",
]
ANALYSIS = [f"pitch_{i}" for i in range(12)] + [f"timbre_{i}" for i in range(12)]
FEATURE_SETS = {"audio": AUDIO, "audio+analysis": AUDIO + ANALYSIS}
EPOCHS = 40

# The torch 2.13.0 that `./run setup` installed, after the virtualenv's packages so that it
# shadows none of them.
if os.environ.get("TORCH_SITE"):
    sys.path.append(os.environ["TORCH_SITE"])


def memory_mb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return float(line.split()[1]) / 1024.0
    raise RuntimeError(f"no {field} in /proc/self/status")


def write_atomic(path, text):
    tmp = Path(path).with_name(Path(path).name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def cv_mae(predicted, y, fold_of):
    """The mean over folds of each fold's MAE (the workspace's `CvScores::mae`)."""
    return float(np.mean([np.abs(predicted[fold_of == f] - y[fold_of == f]).mean()
                          for f in range(int(fold_of.max()) + 1)]))


def load(directory, folds_path, features):
    tracks = pd.read_csv(directory / "valence" / "chart_tracks.csv")
    analysis = pd.read_csv(directory / "valence" / "chart_tracks_analysis.csv")
    folds = pd.read_csv(folds_path)
    if len(folds) != len(tracks) or not (folds["id"].to_numpy() == tracks["id"].to_numpy()).all():
        sys.exit(f"{folds_path} does not list the rows of chart_tracks.csv in file order")
    joined = tracks.merge(analysis, on="id", how="left", validate="one_to_one")
    joined["fold"] = folds["fold"].to_numpy()
    columns = FEATURE_SETS[features]
    joined = joined.dropna(subset=columns)
    return joined[columns].to_numpy(np.float64), joined["valence"].to_numpy(np.float64), \
        joined["fold"].to_numpy()


class Standardised:
    """Standardises inputs with the training rows' mean and deviation, as the Rust side does."""

    def __init__(self, model):
        self.model = model

    def fit(self, x, y):
        self.mean = x.mean(axis=0)
        self.std = x.std(axis=0)
        self.std[self.std <= 1e-12] = 1.0
        self.model.fit((x - self.mean) / self.std, y)
        return self

    def predict(self, x):
        return self.model.predict((x - self.mean) / self.std)


class LightGbm:
    def __init__(self, threads, seed):
        self.params = {
            "objective": "regression", "learning_rate": 0.02, "num_leaves": 31,
            "min_data_in_leaf": 20, "bagging_fraction": 0.8, "bagging_freq": 1,
            "feature_fraction": 0.7, "num_threads": threads, "seed": seed, "verbose": -1,
        }

    def fit(self, x, y):
        import lightgbm as lgb
        self.booster = lgb.train(self.params, lgb.Dataset(x, y), num_boost_round=2000)
        return self

    def predict(self, x):
        return self.booster.predict(x, num_threads=self.params["num_threads"])


class TorchMlp:
    def __init__(self, threads, seed):
        import torch
        torch.set_num_threads(threads)
        self.seed = seed

    def fit(self, x_raw, y_raw):
        import torch
        from torch import nn
        torch.manual_seed(self.seed)
        self.mean = x_raw.mean(axis=0)
        self.std = x_raw.std(axis=0)
        self.std[self.std <= 1e-12] = 1.0
        x = torch.from_numpy((x_raw - self.mean) / self.std).float()
        y = torch.from_numpy(y_raw).float().reshape(-1, 1)
        self.model = nn.Sequential(
            nn.Linear(x.shape[1], 256), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(128, 1),
        )
        self.model.train()
        optimiser = torch.optim.AdamW(self.model.parameters(), lr=1e-3, weight_decay=0.01)
        loss_fn = nn.MSELoss()
        generator = torch.Generator().manual_seed(self.seed)
        for _ in range(EPOCHS):
            order = torch.randperm(x.shape[0], generator=generator)
            x_epoch, y_epoch = x[order], y[order]
            for start in range(0, x.shape[0], 256):
                loss = loss_fn(self.model(x_epoch[start:start + 256]), y_epoch[start:start + 256])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        return self

    def predict(self, x_raw):
        import torch
        self.model.eval()
        with torch.no_grad():
            x = torch.from_numpy((x_raw - self.mean) / self.std).float()
            return self.model(x).reshape(-1).double().numpy()


def make(peer, threads, seed):
    if peer == "lightgbm":
        return LightGbm(threads, seed)
    if peer == "sklearn_forest":
        from sklearn.ensemble import RandomForestRegressor
        return RandomForestRegressor(
            n_estimators=100, max_depth=12, min_samples_leaf=5, min_samples_split=10,
            max_features=1.0 / 3.0, n_jobs=threads, random_state=seed)
    if peer == "sklearn_mlp":
        from sklearn.neural_network import MLPRegressor
        return Standardised(MLPRegressor(
            hidden_layer_sizes=(256, 128), activation="relu", solver="adam",
            learning_rate_init=1e-3, batch_size=256, max_iter=EPOCHS, early_stopping=False,
            n_iter_no_change=EPOCHS + 1, tol=0.0, random_state=seed))
    if peer == "torch_mlp":
        return TorchMlp(threads, seed)
    sys.exit(f"unknown peer {peer}")


MODEL_OF_PEER = {
    "lightgbm": "boosting", "sklearn_forest": "forest", "sklearn_mlp": "network",
    "torch_mlp": "network",
}


BATCH_STEP = 2654435761


def load_all(directory, features):
    """Every chart track with the features, in file order (the workspace's covered tracks)."""
    tracks = pd.read_csv(directory / "valence" / "chart_tracks.csv")
    analysis = pd.read_csv(directory / "valence" / "chart_tracks_analysis.csv")
    joined = tracks.merge(analysis, on="id", how="left", validate="one_to_one")
    columns = FEATURE_SETS[features]
    joined = joined.dropna(subset=columns)
    return joined[columns].to_numpy(np.float64), joined["valence"].to_numpy(np.float64)


def measure_predict(args):
    import warnings
    warnings.filterwarnings("ignore")
    x, y = load_all(Path(args.data), args.predict)
    start = time.perf_counter()
    model = make("lightgbm", args.threads, args.seed).fit(x, y)
    fit_seconds = time.perf_counter() - start
    print(f"  lightgbm fitted {args.predict} in {fit_seconds:.2f} s", file=sys.stderr)
    rows = (np.arange(args.predict_rows, dtype=np.uint64) * np.uint64(BATCH_STEP)) \
        % np.uint64(len(y))
    batch = np.ascontiguousarray(x[rows.astype(np.int64)])
    best = None
    for _ in range(max(args.repeats, 1)):
        wall, cpu = time.perf_counter(), time.process_time()
        predicted = model.predict(batch)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if best is None or wall < best[0]:
            best = (wall, cpu)
    report = {
        "side": "lightgbm",
        "features": args.predict,
        "rows": int(len(y)),
        "columns": int(x.shape[1]),
        "trees": model.booster.num_trees(),
        "threads": args.threads,
        "batch_rows": args.predict_rows,
        "fit_seconds": fit_seconds,
        "rows_per_second": args.predict_rows / best[0],
        "rows_per_cpu_second": args.predict_rows / best[1],
    }
    if args.rust_predictions:
        ours = np.fromfile(args.rust_predictions, dtype="<f8")
        if ours.shape != predicted.shape:
            sys.exit(f"{args.rust_predictions} holds {ours.size} predictions, not {predicted.size}")
        report["largest_difference"] = float(np.abs(ours - predicted).max())
    print(json.dumps(report, indent=2))


def write_predict_report(directory):
    """The workspace's batch prediction beside LightGBM's, per feature set, from the JSON the
    `--only predict` mode wrote: `spotify-ml_SLUG.json` and `lightgbm_SLUG.json`."""
    out = ["| features | trees | batch rows | threads | LightGBM rows/s | walk rows/s | FlatTrees rows/s"
           " | FlatTrees / LightGBM | FlatTrees / walk | per CPU second: FlatTrees / LightGBM"
           " | largest prediction difference |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for features in FEATURE_SETS:
        slug = features.replace("+", "_")
        ours_path, theirs_path = directory / f"spotify-ml_{slug}.json", directory / f"lightgbm_{slug}.json"
        if not (ours_path.exists() and theirs_path.exists()):
            continue
        ours, theirs = json.loads(ours_path.read_text()), json.loads(theirs_path.read_text())
        out.append(
            f"| {features} | {ours['trees']} | {ours['batch_rows']:,} | {ours['threads']}"
            f" | {theirs['rows_per_second']:,.0f} | {ours['walk_rows_per_second']:,.0f}"
            f" | {ours['flat_rows_per_second']:,.0f}"
            f" | {ours['flat_rows_per_second'] / theirs['rows_per_second']:.2f}×"
            f" | {ours['flat_rows_per_second'] / ours['walk_rows_per_second']:.2f}×"
            f" | {ours['flat_rows_per_cpu_second'] / theirs['rows_per_cpu_second']:.2f}×"
            f" | {theirs.get('largest_difference', float('nan')):.1e} |")
    print("\n".join(out))


def measure_one(args):
    import warnings
    warnings.filterwarnings("ignore")
    x, y, fold_of = load(Path(args.data), args.folds, args.features)
    baseline = memory_mb("VmRSS")
    oof = np.full(len(y), np.nan)
    fit_seconds, train_rows, model = [], [], None
    for fold in range(int(fold_of.max()) + 1):
        train, test = fold_of != fold, fold_of == fold
        model = make(args.one, args.threads, args.seed)
        start = time.perf_counter()
        model.fit(x[train], y[train])
        fit_seconds.append(time.perf_counter() - start)
        train_rows.append(int(train.sum()))
        print(f"  {args.one} {args.features} fold {fold}: {fit_seconds[-1]:.2f} s", file=sys.stderr)
        oof[test] = model.predict(x[test])
    peak = memory_mb("VmHWM")
    if args.oof_out:
        write_atomic(args.oof_out, "prediction\n" + "".join(f"{v!r}\n" for v in oof.tolist()))
    rng = np.random.default_rng(args.seed)
    batch = x[rng.integers(0, len(y), args.predict_rows)]
    start = time.perf_counter()
    predicted = model.predict(batch)
    predict_seconds = time.perf_counter() - start
    if not np.isfinite(predicted).all():
        sys.exit("the peer predicted a non-finite value")
    epochs = EPOCHS if MODEL_OF_PEER[args.one] == "network" else 1
    mean_fit = float(np.mean(fit_seconds))
    print(json.dumps({
        "side": args.one,
        "model": MODEL_OF_PEER[args.one],
        "features": args.features,
        "rows": int(len(y)),
        "columns": int(x.shape[1]),
        "threads": args.threads,
        "cv_mae": cv_mae(oof, y, fold_of),
        "mean_fit_seconds": mean_fit,
        "fit_seconds": fit_seconds,
        "train_rows_per_second": float(np.mean(train_rows)) * epochs / mean_fit,
        "predict_rows": args.predict_rows,
        "predict_rows_per_second": args.predict_rows / predict_seconds,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak,
    }, indent=2))


def check_bins(args):
    """Sets the workspace's bin edges (peer_measure --edges-out) beside LightGBM's, on the same
    rows: LightGBM's bin count for every feature, and whether each threshold that LightGBM's trees
    split at (the peer's settings, 2000 trees) is one of the workspace's edges."""
    import lightgbm as lgb
    ours = json.loads(Path(args.check_bins).read_text())
    x, y, fold_of = load(Path(args.data), args.folds, args.features)
    train = fold_of != ours["fold"]
    if int(train.sum()) != ours["rows"] or len(ours["edges"]) != x.shape[1]:
        sys.exit(f"{args.check_bins}: {ours['rows']} rows × {len(ours['edges'])} features, but fold"
                 f" {ours['fold']}'s training rows are {int(train.sum())} × {x.shape[1]}")
    params = dict(LightGbm(args.threads, args.seed).params, max_bin=ours["max_bins"])
    data = lgb.Dataset(x[train], y[train], params=params).construct()
    lgb_bins = [data.feature_num_bin(f) for f in range(x.shape[1])]
    booster = lgb.train(params, data, num_boost_round=2000)
    thresholds = [set() for _ in range(x.shape[1])]

    def walk(node):
        if "split_feature" in node:
            thresholds[node["split_feature"]].add(node["threshold"])
            walk(node["left_child"])
            walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    # LightGBM prints thresholds with 17 significant digits; one part in 1e12 is ample.
    found = sum(any(abs(t - e) <= 1e-12 * max(1.0, abs(t)) for e in edges)
                for edges, ts in zip(ours["edges"], thresholds) for t in ts)
    print(json.dumps({
        "features": args.features,
        "fold": ours["fold"],
        "rows": ours["rows"],
        "max_bins": ours["max_bins"],
        "columns": x.shape[1],
        "same_bin_count": sum(len(e) + 1 == n for e, n in zip(ours["edges"], lgb_bins)),
        "thresholds": sum(len(ts) for ts in thresholds),
        "thresholds_among_ours": found,
    }, indent=2))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# What each workspace model is compared with, and which ratios carry a target.
PAIRS = [
    ("boosting", "lightgbm", "LightGBM 4"),
    ("forest", "sklearn_forest", "scikit-learn RandomForestRegressor"),
    ("network", "torch_mlp", "PyTorch 2.13 (identical network)"),
    ("network", "sklearn_mlp", "scikit-learn MLPRegressor"),
]


# Out-of-fold predictions this close count as the same: rounding of the same sums in another
# order, far below the spread over seeds (about 1e-4 in MAE).
SAME_PREDICTION = 1e-9


def boosting_twins(directory, data):
    """Each seed's out-of-fold boosting predictions of both sides (`DIR/oof/SIDE_SLUG_SEED.csv`)
    side by side: per feature set, the seeds compared, the largest difference of a prediction, the
    rows that differ by more than SAME_PREDICTION, and both sides' CV MAE from the predictions by
    one formula (the mean of the folds' MAE, as `cv_mae`)."""
    found = {}
    for feature in ("audio", "audio+analysis"):
        slug = feature.replace("+", "_")
        prefix = f"spotify-ml_{slug}_"
        ours = sorted(path for path in Path(directory, "oof").glob(f"{prefix}*.csv")
                      if path.stem[len(prefix):].isdigit())
        pairs = [(path, path.with_name(path.name.replace("spotify-ml_", "lightgbm_", 1)))
                 for path in ours]
        pairs = [(a, b) for a, b in pairs if b.exists()]
        if not pairs:
            continue
        _, y, fold_of = load(Path(data), Path(directory, "folds.csv"), feature)
        largest, differing, ours_maes, theirs_maes = 0.0, 0, [], []
        for a, b in pairs:
            p, q = (np.loadtxt(path, skiprows=1, ndmin=1) for path in (a, b))
            if p.shape != y.shape or q.shape != y.shape:
                sys.exit(f"{a} or {b} does not hold one prediction per row of {feature}")
            gap = np.abs(p - q)
            largest = max(largest, float(gap.max()))
            differing += int((gap > SAME_PREDICTION).sum())
            ours_maes.append(cv_mae(p, y, fold_of))
            theirs_maes.append(cv_mae(q, y, fold_of))
        found[feature] = {"seeds": len(pairs), "rows": len(y), "largest": largest,
                          "differing": differing, "ours": np.array(ours_maes),
                          "theirs": np.array(theirs_maes)}
    return found


def write_report(directory, command, loads, data):
    rows = [json.loads(path.read_text()) for path in sorted(Path(directory).glob("*.json"))]
    features = ["audio", "audio+analysis"]
    out = []
    out.append("| model | features | side | CV MAE | fit s / fold | train rows/s | predict rows/s"
               " | peak RSS MB (baseline) |")
    out.append("|---|---|---|---|---|---|---|---|")
    for model in ("boosting", "forest", "network"):
        peers = [peer for m, peer, _ in PAIRS if m == model]
        for feature in features:
            for side in ["spotify-ml"] + peers:
                r = next((r for r in rows if r["side"] == side and r["model"] == model
                          and r["features"] == feature), None)
                if r is None:
                    continue
                out.append(
                    f"| {model} | {feature} | {side} | {r['cv_mae']:.4f} | {r['mean_fit_seconds']:.2f}"
                    f" | {r['train_rows_per_second']:,.0f} | {r['predict_rows_per_second']:,.0f}"
                    f" | {r['peak_rss_mb']:.0f} ({r['baseline_rss_mb']:.0f}) |")
    out.append("")
    out.append("Ratios, spotify-ml / peer (fit time and memory: lower is better; throughput: higher"
               " is better; MAE difference: negative is better):")
    out.append("")
    out.append("| model | peer | features | MAE difference | fit time | train throughput"
               " | predict throughput | peak RSS |")
    out.append("|---|---|---|---|---|---|---|---|")
    for model, peer, name in PAIRS:
        for feature in features:
            ours = next((r for r in rows if r["side"] == "spotify-ml" and r["model"] == model
                         and r["features"] == feature), None)
            theirs = next((r for r in rows if r["side"] == peer and r["features"] == feature), None)
            if ours is None or theirs is None:
                continue
            out.append(
                f"| {model} | {name} | {feature} | {ours['cv_mae'] - theirs['cv_mae']:+.4f}"
                f" | {ours['mean_fit_seconds'] / theirs['mean_fit_seconds']:.2f}×"
                f" | {ours['train_rows_per_second'] / theirs['train_rows_per_second']:.2f}×"
                f" | {ours['predict_rows_per_second'] / theirs['predict_rows_per_second']:.2f}×"
                f" | {ours['peak_rss_mb'] / theirs['peak_rss_mb']:.2f}× |")
    seed_rows = [json.loads(path.read_text())
                 for path in sorted(Path(directory, "seeds").glob("*.json"))]

    def mae_over_seeds(side, feature):
        maes = [r["cv_mae"] for r in rows + seed_rows if r["side"] == side
                and r["model"] == "boosting" and r["features"] == feature]
        return np.array(maes)

    def fit_seconds_over_seeds(side, feature):
        return [t for r in rows + seed_rows if r["side"] == side and r["model"] == "boosting"
                and r["features"] == feature for t in r["fit_seconds"]]

    if seed_rows:
        out.append("")
        out.append("Boosting CV MAE over seeds (bagging and feature sampling; the same folds):")
        out.append("")
        out.append("| features | side | seeds | mean | sd | min | max | fit s / fold, all seeds |")
        out.append("|---|---|---|---|---|---|---|---|")
        for feature in features:
            for side in ("spotify-ml", "lightgbm"):
                maes = mae_over_seeds(side, feature)
                seconds = fit_seconds_over_seeds(side, feature)
                if len(maes):
                    out.append(f"| {feature} | {side} | {len(maes)} | {maes.mean():.5f}"
                               f" | {maes.std(ddof=1) if len(maes) > 1 else 0.0:.5f}"
                               f" | {maes.min():.5f} | {maes.max():.5f}"
                               f" | {np.mean(seconds):.2f} |")
    twins = boosting_twins(directory, data)
    if twins:
        out.append("")
        out.append("The boosting's out-of-fold predictions beside LightGBM's, under the same seed"
                   f" (`peer_measure --oof-out`, `compare_peers.py --oof-out`; \"differ\": by more"
                   f" than {SAME_PREDICTION:g}; CV MAE from the predictions, one formula for both):")
        out.append("")
        out.append("| features | seeds | predictions | largest difference | predictions that differ"
                   " | CV MAE, spotify-ml | CV MAE, LightGBM |")
        out.append("|---|---|---|---|---|---|---|")
        for feature, t in twins.items():
            out.append(f"| {feature} | {t['seeds']} | {t['seeds'] * t['rows']:,} | {t['largest']:.2g}"
                       f" | {t['differing']:,} | {t['ours'].mean():.5f} | {t['theirs'].mean():.5f} |")
    bins = [json.loads(path.read_text()) for path in sorted(Path(directory, "bins").glob("*.json"))]
    if bins:
        out.append("")
        most = " and ".join(sorted({str(b["max_bins"]) for b in bins}))
        out.append(f"Histogram bins against LightGBM's, on the first fold's training rows ({most} bins"
                   " at most; `peer_measure --edges-out`, `compare_peers.py --check-bins`):")
        out.append("")
        out.append("| features | rows | features with LightGBM's bin count | LightGBM's split"
                   " thresholds (2000 trees) among the workspace's edges |")
        out.append("|---|---|---|---|")
        for b in bins:
            out.append(f"| {b['features']} | {b['rows']:,} | {b['same_bin_count']} of {b['columns']}"
                       f" | {b['thresholds_among_ours']:,} of {b['thresholds']:,} |")
    out.append("")
    out.append("Targets of issue 8, judged on this run (the boosting's MAE and fit time on the mean"
               " over all its seeds when there are several):")
    out.append("")
    out.append("| target | features | spotify-ml | peer | verdict |")
    out.append("|---|---|---|---|---|")

    def find(side, model, feature):
        return next((r for r in rows if r["side"] == side and r["model"] == model
                     and r["features"] == feature), None)

    checks = [
        ("boosting CV MAE ≤ LightGBM's", "boosting", "lightgbm", "cv_mae", "le", 1.0),
        ("boosting fit time ≤ 1.0× LightGBM's", "boosting", "lightgbm", "mean_fit_seconds", "le", 1.0),
        ("forest fit time ≤ 1.0× scikit-learn's", "forest", "sklearn_forest", "mean_fit_seconds", "le", 1.0),
        ("network training throughput ≥ 0.9× PyTorch's", "network", "torch_mlp",
         "train_rows_per_second", "ge", 0.9),
        ("best model's batch prediction ≥ 1.0× LightGBM's", "boosting", "lightgbm",
         "predict_rows_per_second", "ge", 1.0),
        ("best model's peak memory while fitting ≤ 1.0× LightGBM's", "boosting", "lightgbm",
         "peak_rss_mb", "le", 1.0),
    ]
    for label, model, peer, field, sense, factor in checks:
        for feature in features:
            ours, theirs = find("spotify-ml", model, feature), find(peer, model, feature)
            if ours is None or theirs is None:
                continue
            a, b = ours[field], theirs[field]
            if field == "cv_mae":
                ours_maes, theirs_maes = (mae_over_seeds("spotify-ml", feature),
                                          mae_over_seeds(peer, feature))
                se = None
                if len(ours_maes) > 1 and len(theirs_maes) > 1:
                    a, b = ours_maes.mean(), theirs_maes.mean()
                    # Standard error of the difference of two means over independent seeds.
                    se = np.sqrt(ours_maes.var(ddof=1) / len(ours_maes)
                                 + theirs_maes.var(ddof=1) / len(theirs_maes))
                twin = twins.get(feature)
                if twin is not None and twin["differing"] == 0 and twin["seeds"] == len(ours_maes):
                    # The same predictions on every row under every seed: the same MAE, whatever
                    # the last bits of two summations say.
                    a, b = twin["ours"].mean(), twin["theirs"].mean()
                    verdict = (f"met: the same predictions as LightGBM's under each of the"
                               f" {twin['seeds']} seeds (largest difference"
                               f" {twin['largest']:.2g}), so the same MAE")
                else:
                    met = a <= b
                    verdict = "met" if met else f"missed by {a - b:.5f}"
                    if se is not None:
                        verdict += f" (difference {a - b:+.5f}, its standard error {se:.5f})"
                shown = (f"{a:.5f}", f"{b:.5f}")
            else:
                if model == "boosting" and field == "mean_fit_seconds" and seed_rows:
                    a = float(np.mean(fit_seconds_over_seeds("spotify-ml", feature)))
                    b = float(np.mean(fit_seconds_over_seeds(peer, feature)))
                ratio = a / b
                met = ratio <= factor if sense == "le" else ratio >= factor
                verdict = f"{ratio:.2f}×, " + ("met" if met else "missed")
                shown = (f"{a:,.2f}", f"{b:,.2f}")
            out.append(f"| {label} | {feature} | {shown[0]} | {shown[1]} | {verdict} |")
    header = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores"
        f" ({cpu_model()}), {platform.system()} {platform.release()}, Python"
        f" {platform.python_version()}.",
        f"Load average before and after the run: {loads}.",
        "",
        f"Command: `{command}`",
        "",
    ]
    print("\n".join(header + out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=sorted(MODEL_OF_PEER))
    parser.add_argument("--features", choices=sorted(FEATURE_SETS))
    parser.add_argument("--folds", type=Path)
    parser.add_argument("--data", default=os.environ.get(
        "SPOTIFY_ML_DATA", str(Path(__file__).resolve().parent.parent.parent / "shared" / "data")))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--predict-rows", type=int, default=1_000_000)
    parser.add_argument("--oof-out", type=Path,
                        help="with --one: write each covered row's out-of-fold prediction (CSV)")
    parser.add_argument("--report", type=Path, help="directory of the JSON measurements")
    parser.add_argument("--check-bins", type=Path,
                        help="bin edges written by peer_measure --edges-out, set beside LightGBM's")
    parser.add_argument("--predict", choices=sorted(FEATURE_SETS),
                        help="fit LightGBM on every track and time a batch prediction")
    parser.add_argument("--repeats", type=int, default=3, help="with --predict: timings, fastest counts")
    parser.add_argument("--rust-predictions", type=Path,
                        help="with --predict: the workspace's predictions of the batch (f64 LE)")
    parser.add_argument("--predict-report", type=Path,
                        help="directory of the --only predict JSON measurements")
    parser.add_argument("--command", default="tools/compare_peers")
    parser.add_argument("--loads", default="unknown")
    args = parser.parse_args()
    if args.predict:
        measure_predict(args)
    elif args.predict_report:
        write_predict_report(args.predict_report)
    elif args.check_bins and args.features and args.folds:
        check_bins(args)
    elif args.report:
        write_report(args.report, args.command, args.loads, args.data)
    elif args.one and args.features and args.folds:
        measure_one(args)
    else:
        parser.error("use --one PEER --features SET --folds FILE, --check-bins EDGES --features SET"
                     " --folds FILE, or --report DIR")


if __name__ == "__main__":
    main()
