#!/usr/bin/env python3
"""Checks that a refactor changed no output: compares two output folders of an example.

    python3 tools/same_outputs.py BEFORE_DIR AFTER_DIR

Every `.csv` file must be byte-identical. Every `.json` file must hold the same numbers at the
same paths (a key present on one side only is listed as a key difference, not a number
difference; text values are compared too). Other files (PNGs, Markdown, model files) are listed
when they differ, for information only: reports carry timings and plots carry pixels.
Exits 1 when a CSV or a JSON number differs, or when a CSV or JSON file is missing on one side.
"""
import json
import math
import sys
from pathlib import Path


def leaves(value, path=""):
    """Yields (path, leaf) for every number, text, bool and null in a JSON value."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from leaves(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from leaves(inner, f"{path}[{index}]")
    else:
        yield path, value


def same_leaf(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b


# Leaves that measure time, not results.
TIMING_KEYS = ("seconds", "fit_seconds", "elapsed", "duration", "date", "timestamp")


def is_timing(path):
    last = path.rsplit(".", 1)[-1].split("[")[0]
    return any(last == key or last.endswith("_" + key) for key in TIMING_KEYS)


def compare_json(before, after, name):
    failures = []
    a = dict(leaves(json.loads(before.read_text())))
    b = dict(leaves(json.loads(after.read_text())))
    only_before = sorted(set(a) - set(b))
    only_after = sorted(set(b) - set(a))
    for path in sorted(set(a) & set(b)):
        if is_timing(path):
            continue
        if not same_leaf(a[path], b[path]):
            failures.append(f"{name}: {path}: {a[path]!r} -> {b[path]!r}")
    notes = []
    if only_before:
        notes.append(f"{name}: keys only before: {', '.join(only_before[:12])}"
                     + (f" (+{len(only_before) - 12} more)" if len(only_before) > 12 else ""))
    if only_after:
        notes.append(f"{name}: keys only after: {', '.join(only_after[:12])}"
                     + (f" (+{len(only_after) - 12} more)" if len(only_after) > 12 else ""))
    return failures, notes


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    before, after = Path(sys.argv[1]), Path(sys.argv[2])
    for folder in (before, after):
        if not folder.is_dir():
            sys.exit(f"{folder}: not a folder")
    files_before = {p.relative_to(before) for p in before.rglob("*") if p.is_file()}
    files_after = {p.relative_to(after) for p in after.rglob("*") if p.is_file()}
    failures, notes, compared = [], [], 0
    for rel in sorted(files_before | files_after):
        checked = rel.suffix in (".csv", ".json")
        if rel not in files_after or rel not in files_before:
            side = "after" if rel not in files_after else "before"
            (failures if checked else notes).append(f"{rel}: missing {side}")
            continue
        a, b = before / rel, after / rel
        if rel.suffix == ".csv":
            compared += 1
            if a.read_bytes() != b.read_bytes():
                failures.append(f"{rel}: CSV differs")
        elif rel.suffix == ".json":
            compared += 1
            f, n = compare_json(a, b, str(rel))
            failures += f
            notes += n
        elif a.read_bytes() != b.read_bytes():
            notes.append(f"{rel}: differs (not checked)")
    for line in notes:
        print("note:", line)
    for line in failures:
        print("DIFF:", line)
    print(f"{compared} CSV/JSON files compared: {len(failures)} differences")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
