#!/usr/bin/env python3
"""Says whether a change moved the classifiers' accuracies by more than their spread over seeds.

    python3 tools/seed_spread.py BEFORE_DIR AFTER_DIR

Each directory holds SEED/EXAMPLE/metrics.json, as tools/seed_runs writes them. For every
experiment and every model, it prints the accuracy before and after as mean ± standard deviation
over the seeds, with the range, and the difference of the means in units of the before spread.
An accuracy "falls beyond its spread" when the after mean is below the before mean by more than
two standard deviations of the before runs. An accuracy the seeds do not change (every run the
same) has no spread and is listed, not judged. Prints a Markdown table and exits 1 if any
accuracy falls beyond its spread.
"""
import json
import statistics
import sys
from pathlib import Path


def accuracies(root):
    """{(example, experiment, model): {seed: accuracy}} from every metrics.json under root."""
    found = {}
    for path in sorted(Path(root).glob("*/*/metrics.json")):
        seed, example = path.parent.parent.name, path.parent.name
        metrics = json.loads(path.read_text())
        for name, experiment in metrics["experiments"].items():
            for model, scores in experiment["models"].items():
                found.setdefault((example, name, model), {})[seed] = scores["accuracy"]
            found.setdefault((example, name, "best"), {})[seed] = experiment["best"]["accuracy"]
    return found


def describe(values):
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, sd, min(values), max(values)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    before, after = accuracies(sys.argv[1]), accuracies(sys.argv[2])
    beyond, unmeasured = [], []
    print("| example | experiment | model | before (mean ± sd, min–max) | after (mean ± sd, min–max) | Δ mean / sd |")
    print("|---|---|---|---|---|---|")
    for key in sorted(before):
        if key not in after:
            beyond.append((key, "missing after"))
            continue
        b, a = describe(list(before[key].values())), describe(list(after[key].values()))
        delta = a[0] - b[0]
        if b[1] == 0:
            # Every seed gave the same accuracy: the seeds do not reach this experiment, and
            # there is no spread to judge a change by.
            unmeasured.append((key, f"{delta:+.4f}"))
            verdict = "no spread"
            falls = False
        else:
            verdict = f"{delta / b[1]:+.2f}"
            falls = delta < -2 * b[1]
        if falls:
            beyond.append((key, f"{delta:+.4f}"))
            verdict += " **beyond**"
        print(f"| {key[0]} | {key[1]} | {key[2]} | {b[0]:.4f} ± {b[1]:.4f} ({b[2]:.4f}–{b[3]:.4f}) "
              f"| {a[0]:.4f} ± {a[1]:.4f} ({a[2]:.4f}–{a[3]:.4f}) | {verdict} |")
    seeds = sorted({s for v in before.values() for s in v})
    print(f"\n{len(before)} accuracies over seeds {', '.join(seeds)}; "
          f"{len(beyond)} below the before mean by more than two standard deviations.")
    for key, why in beyond:
        print(f"- beyond: {'/'.join(key)} {why}")
    for key, why in unmeasured:
        print(f"- identical over the seeds, not judged: {'/'.join(key)} {why}")
    sys.exit(1 if beyond else 0)


if __name__ == "__main__":
    main()
