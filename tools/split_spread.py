#!/usr/bin/env python3
"""Says whether a change moved the classifiers' full-protocol accuracies beyond their spread.

    python3 tools/split_spread.py BEFORE_DIR AFTER_DIR

Each directory holds EXAMPLE/details.json as a full run (no --quick) of a classification
example writes it, e.g. BEFORE_DIR/genre_classifier/details.json. In a full run every model of
every experiment is scored on the same five stratified 80/20 splits (seed 12345 and seeds 1-4);
details.json keeps the five accuracies (models[].protocol.parts). For every experiment and
model this prints the five accuracies before and after as mean +- sd (min-max), the difference
of the means in units of the before spread, and the paired differences split by split (the
splits are the same on both sides). An accuracy "falls beyond its spread" when the after mean
is below the before mean by more than two standard deviations of the before splits. Prints a
Markdown table and exits 1 if any accuracy falls beyond its spread.
"""
import json
import statistics
import sys
from pathlib import Path


def accuracies(root):
    """{(example, experiment, model): [accuracy per split]} from every details.json under root."""
    found = {}
    for path in sorted(Path(root).glob("*/details.json")):
        example = path.parent.name
        for experiment in json.loads(path.read_text()):
            for model in experiment["models"]:
                parts = [part["accuracy"] for part in model["protocol"]["parts"]]
                found[(example, experiment["name"], model["name"])] = parts
    return found


def describe(values):
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.4f} ± {sd:.4f} ({min(values):.4f}–{max(values):.4f})"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    before, after = accuracies(sys.argv[1]), accuracies(sys.argv[2])
    if not before:
        sys.exit(f"no */details.json under {sys.argv[1]}")
    beyond = []
    print("| example | experiment | model | before (mean ± sd, min–max) | after | Δ mean / sd | paired Δ per split |")
    print("|---|---|---|---|---|---:|---|")
    for key in sorted(before):
        b = before[key]
        a = after.get(key)
        if a is None or len(a) != len(b):
            beyond.append((key, "missing or of another length after"))
            continue
        delta = statistics.fmean(a) - statistics.fmean(b)
        sd = statistics.stdev(b) if len(b) > 1 else 0.0
        ratio = f"{delta / sd:+.2f}" if sd > 0 else "no spread"
        if delta < -2 * sd:
            beyond.append((key, f"{delta:+.4f}"))
        paired = " ".join(f"{x - y:+.4f}" for x, y in zip(a, b))
        print(f"| {key[0]} | {key[1]} | {key[2]} | {describe(b)} | {describe(a)} | {ratio} | {paired} |")
    print()
    if beyond:
        print("Beyond the before spread (mean fell by more than 2 sd):")
        for key, what in beyond:
            print(f"- {' / '.join(key)}: {what}")
        sys.exit(1)
    print(f"No accuracy of {len(before)} fell by more than two standard deviations of its splits.")


if __name__ == "__main__":
    main()
