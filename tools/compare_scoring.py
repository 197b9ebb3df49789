#!/usr/bin/env python3
"""The Python pipeline a user would write to score a catalogue with the same trees as the
workspace's bundles, and the check that both pipelines wrote the same scores.

  compare_scoring.py run --input FILE.parquet --lightgbm DIR --name NAME... --output FILE.parquet
                         [--batch-rows N] [--threads T]
  compare_scoring.py check OURS_DIR.parquet THEIRS.parquet

`run` does the streaming scorer's job with pyarrow and LightGBM: record batches of the needed
columns (pyarrow.parquet.ParquetFile.iter_batches) -> the bundle's input checks (missing, not a
number, out of range: null outputs and a reason) -> LightGBM `predict` on the accepted rows
(models written by `export_lightgbm`, so the very same trees) -> the bundle's outputs (for
valence its clipping and conformal interval, for classifiers the label and one probability per
X one JSON line: rows, seconds, rows/s and peak
resident memory.

`check` reads both outputs batch by batch and prints, per column, how many values differ (labels
and reasons exactly; numbers: differ at all, and the largest difference), as one JSON line.
"""

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def rust_float(value: float) -> str:
    """A float as Rust's `Display` writes it: the shortest digits that read back, never an
    exponent, `NaN` and `inf`."""
    if np.isnan(value):
        return "NaN"
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return np.format_float_positional(value, unique=True, trim="-")


class Scorer:
    """One bundle: its checks, its LightGBM model and how its outputs are made."""

    def __init__(self, lightgbm_dir: Path, name: str, threads: int):
        import lightgbm

        sidecar = json.loads((lightgbm_dir / f"{name}.json").read_text())
        bundle_dir = Path(sidecar["bundle"])
        manifest = json.loads((bundle_dir / "bundle.json").read_text())
        self.name = manifest["name"]
        self.inputs = manifest["inputs"]
        if any(c["optional"] for c in self.inputs):
            raise SystemExit(f"{name}: bundles with optional columns are not part of this comparison")
        if sidecar["columns"] != [c["name"] for c in self.inputs]:
            raise SystemExit(f"{name}: the model's columns are not the bundle's inputs in order")
        self.outputs = [o["name"] for o in manifest["outputs"]]
        self.kind = sidecar["output"]
        self.booster = lightgbm.Booster(model_file=str(lightgbm_dir / sidecar["model_file"]))
        self.threads = threads
        output = manifest["output"]
        if self.kind == "value":
            self.range = (output["min"], output["max"])
            intervals = json.loads((bundle_dir / "best_intervals.json").read_text())
            model_group = intervals["groups"][0]
            self.quantile = model_group["quantile"] if model_group["quantile"] is not None else np.inf
            self.edges = np.array(model_group["edges"], dtype=np.float64)
            self.scale = np.array(model_group["scale"], dtype=np.float64)
        else:
            self.classes = output["names"]
            # A calibrated classifier bundle tempers its probabilities and adds a set column.
            self.calibration = output.get("calibration")

    def fields(self):
        fields = []
        for column in self.outputs:
            is_label = self.kind != "value" and column in (self.name, f"{self.name}_set")
            fields.append(pa.field(column, pa.string() if is_label else pa.float64()))
        fields.append(pa.field(f"{self.name}_rejected", pa.string()))
        return fields

    def sets(self, proba, accepted):
        """Least-ambiguous sets (evaluation::conformal::lac_set): the classes with 1 - p within
        the threshold, most likely first (ties by class order), joined by '|'; None where a row
        was rejected. Vectorised: a set is a prefix of the row's classes by probability, so each
        distinct prefix is spelt once."""
        n, k = proba.shape
        sets = np.full(n, None, dtype=object)
        p = proba[accepted]
        if not len(p):
            return sets
        order = np.argsort(-p, axis=1, kind="stable")
        size = ((1.0 - p) <= self.calibration["set_threshold"]).sum(axis=1)
        code = np.zeros(len(p), dtype=np.int64)
        for j in range(k):
            code += np.where(j < size, order[:, j] + 1, 0) * (k + 1) ** j
        unique, first, inverse = np.unique(code, return_index=True, return_inverse=True)
        names = np.array(["|".join(self.classes[c] for c in order[i, :size[i]]) for i in first], dtype=object)
        sets[accepted] = names[inverse.reshape(-1)]
        return sets

    def score(self, batch: pa.RecordBatch):
        n = batch.num_rows
        x = np.empty((n, len(self.inputs)), dtype=np.float64)
        reason = np.full(n, None, dtype=object)
        # The last column first, so that each row keeps the reason of its first bad column.
        for c in reversed(range(len(self.inputs))):
            column = self.inputs[c]
            array = batch.column(column["name"])
            values = pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)
            x[:, c] = values
            missing = array.is_null().to_numpy(zero_copy_only=False)
            with np.errstate(invalid="ignore"):
                not_finite = ~np.isfinite(values) & ~missing
                out_of_range = np.isfinite(values) & ((values < column["min"]) | (values > column["max"]))
            for problem, rows in (("out_of_range", out_of_range), ("not_a_number", not_finite)):
                reason[rows] = [f"{problem}: {column['name']} = {rust_float(v)}" for v in values[rows]]
            reason[missing] = f"missing: {column['name']}"
        accepted = np.array([r is None for r in reason]) if n else np.zeros(0, dtype=bool)
        mask = ~accepted
        rows = x[accepted]
        arrays = []
        if self.kind == "value":
            value = np.full(n, np.nan)
            low = np.full(n, np.nan)
            high = np.full(n, np.nan)
            if len(rows):
                v = np.clip(self.booster.predict(rows, num_threads=self.threads), *self.range)
                half = self.quantile * self.scale[np.searchsorted(self.edges, v, side="right")]
                value[accepted] = v
                low[accepted] = np.clip(v - half, 0.0, 1.0)
                high[accepted] = np.clip(v + half, 0.0, 1.0)
            arrays = [pa.array(a, mask=mask) for a in (value, low, high)]
        else:
            k = len(self.classes)
            proba = np.full((n, k), np.nan)
            if len(rows):
                p = self.booster.predict(rows, num_threads=self.threads)
                if self.kind == "binary":
                    p = np.column_stack([1.0 - p, p])
                if self.calibration and self.calibration["temperature"] != 1.0:
                    # evaluation::calibration::temperature_scale: p^(1/t), normalised.
                    logits = np.log(np.maximum(p, 1e-300)) / self.calibration["temperature"]
                    p = np.exp(logits - logits.max(axis=1, keepdims=True))
                    p = p / p.sum(axis=1, keepdims=True)
                proba[accepted] = p
            labels = np.full(n, None, dtype=object)
            if len(rows):
                labels[accepted] = np.array(self.classes, dtype=object)[np.argmax(proba[accepted], axis=1)]
            arrays = [pa.array(labels, type=pa.string())]
            arrays += [pa.array(proba[:, j], mask=mask) for j in range(k)]
            if self.calibration:
                arrays.append(pa.array(self.sets(proba, accepted), type=pa.string()))
        arrays.append(pa.array(reason, type=pa.string()))
        return arrays


def run(args):
    pa.set_cpu_count(args.threads)
    pa.set_io_thread_count(args.threads)
    scorers = [Scorer(Path(args.lightgbm), name, args.threads) for name in args.name]
    start = time.perf_counter()
    source = pq.ParquetFile(args.input)
    needed = [args.id_column]
    for scorer in scorers:
        needed += [c["name"] for c in scorer.inputs if c["name"] not in needed]
    id_field = source.schema_arrow.field(args.id_column)
    schema = pa.schema([id_field] + [f for s in scorers for f in s.fields()])
    rows = 0
    with pq.ParquetWriter(args.output, schema, compression="snappy") as writer:
        for batch in source.iter_batches(batch_size=args.batch_rows, columns=needed):
            columns = [batch.column(args.id_column)]
            for scorer in scorers:
                columns += scorer.score(batch)
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            rows += batch.num_rows
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "rows": rows,
        "seconds": seconds,
        "rows_per_second": rows / seconds if seconds > 0 else None,
        "peak_rss_bytes": peak_kib * 1024,
        "lightgbm_threads": args.threads,
    }))


def batches(path: Path, batch_rows: int):
    files = sorted(path.glob("part-*.parquet")) if path.is_dir() else [path]
    for file in files:
        yield from pq.ParquetFile(file).iter_batches(batch_size=batch_rows)


def check(args):
    ours = batches(Path(args.ours), 1 << 16)
    theirs = batches(Path(args.theirs), 1 << 16)
    report = {}
    rows = 0
    pending_ours, pending_theirs = None, None
    while True:
        if pending_ours is None:
            pending_ours = next(ours, None)
        if pending_theirs is None:
            pending_theirs = next(theirs, None)
        if pending_ours is None or pending_theirs is None:
            if pending_ours is not None or pending_theirs is not None:
                raise SystemExit(f"the outputs differ in length after {rows} rows")
            break
        n = min(pending_ours.num_rows, pending_theirs.num_rows)
        a, b = pending_ours.slice(0, n), pending_theirs.slice(0, n)
        if a.schema.names != b.schema.names:
            raise SystemExit(f"columns differ: {a.schema.names} vs {b.schema.names}")
        for name in a.schema.names:
            x, y = a.column(name), b.column(name)
            entry = report.setdefault(name, {"differ": 0, "max_abs_diff": 0.0})
            null_x = x.is_null().to_numpy(zero_copy_only=False)
            null_y = y.is_null().to_numpy(zero_copy_only=False)
            differ = null_x != null_y
            both = ~null_x & ~null_y
            if pa.types.is_floating(x.type):
                vx = x.to_numpy(zero_copy_only=False)
                vy = y.to_numpy(zero_copy_only=False)
                gap = np.abs(vx[both] - vy[both])
                differ[both] |= vx[both] != vy[both]
                if gap.size:
                    entry["max_abs_diff"] = max(entry["max_abs_diff"], float(gap.max()))
            else:
                vx = np.array(x.to_pylist(), dtype=object)
                vy = np.array(y.to_pylist(), dtype=object)
                differ[both] |= vx[both] != vy[both]
            entry["differ"] += int(differ.sum())
        rows += n
        pending_ours = pending_ours.slice(n) if pending_ours.num_rows > n else None
        pending_theirs = pending_theirs.slice(n) if pending_theirs.num_rows > n else None
    print(json.dumps({"rows": rows, "columns": report}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--input", required=True)
    r.add_argument("--lightgbm", required=True)
    r.add_argument("--name", required=True, nargs="+")
    r.add_argument("--output", required=True)
    r.add_argument("--id-column", default="id")
    r.add_argument("--batch-rows", type=int, default=65536)
    r.add_argument("--threads", type=int, default=2)
    c = sub.add_parser("check")
    c.add_argument("ours")
    c.add_argument("theirs")
    args = parser.parse_args()
    run(args) if args.command == "run" else check(args)


if __name__ == "__main__":
    sys.exit(main())
