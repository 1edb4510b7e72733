#!/usr/bin/env python3
"""Prints the Strata ÷ PyTorch samples/s table over rounds, and the targets it misses.

Reads JSONL files of dlbench's and torch_reference.py's lines (any mix; `make bench` writes one file per
round, framework and thread count, each line tagged "round": N; a line without a round counts as round 1).
For every workload, mode and thread count the table shows Strata's and PyTorch's median samples/s over the
rounds and the median of the per-round ratios Strata ÷ PyTorch (> 1: Strata is faster) with its min–max.
A ratio compares the two frameworks within one round only, so a round's load cancels out of it.
Without PyTorch lines it prints Strata's figures alone, with their min–max. Then the range of the load
averages the runs started at ("load_1m"), with a warning when it passed the CPU count.

Targets (issue 10), judged on the medians; a missed one is marked ✗ in the table and listed below it:
- mlp, cnn, cifar, lstm, transformer: train ratio ≥ 1.2, infer ratio ≥ 1.0, at every thread count;
- gemmN: Strata's matmul time ÷ raw cblas_sgemm time (`raw_cblas_ratio`) ≤ 1.05;
- tiny: ≤ 2 µs per op (`us_per_op`);
- every Strata line: `allocs_per_step` 0 in every round.

Usage: python3 bench/ratios.py FILE.jsonl [FILE.jsonl ...]
"""
import json
import os
import statistics
import sys

MODEL_WORKLOADS = ("mlp", "cnn", "cifar", "lstm", "transformer")
RATIO_TARGETS = {"train": 1.2, "infer": 1.0}
RAW_CBLAS_LIMIT = 1.05
TINY_US_LIMIT = 2.0


def load(paths):
    """{(framework, workload, mode, threads): {round: line}}."""
    rows = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    r = json.loads(line)
                    key = (r["framework"], r["workload"], r["mode"], r["threads"])
                    rows.setdefault(key, {})[r.get("round", 1)] = r
    return rows


class Spread:
    """The median and min–max of a list of values."""

    def __init__(self, values):
        self.values = list(values)

    def __bool__(self):
        return bool(self.values)

    @property
    def median(self):
        return statistics.median(self.values)

    def show(self, number, bold=False):
        if not self.values:
            return "—"
        mid = f"**{number(self.median)}**" if bold else number(self.median)
        if len(self.values) == 1:
            return mid
        return f"{mid} ({number(min(self.values))}–{number(max(self.values))})"


def fmt(x):
    return f"{x:,.1f}" if x < 1000 else f"{x:,.0f}"


def two(x):
    return f"{x:.2f}"


def three(x):
    return f"{x:.3f}"


def field(by_round, name):
    return Spread(r[name] for r in by_round.values() if name in r)


def print_load(loads):
    """The range of the load averages the runs started at, and a warning when it passed the CPU count."""
    if not loads:
        return
    cores = os.cpu_count()
    print(f"Load average (1 min) when each run started: {min(loads):.2f}–{max(loads):.2f} on {cores} CPUs "
          "(the benchmark's own threads count in it).")
    if max(loads) > cores:
        print("The machine was oversubscribed for part of the run: the 2-thread figures suffer most, PyTorch's "
              "(OpenMP waits for both threads at every parallel region) more than Strata's.")


def main(paths):
    rows = load(paths)
    order = []
    for (fw, wl, mode, _t) in rows:
        if fw == "strata" and (wl, mode) not in order:
            order.append((wl, mode))
    threads = sorted({t for (_fw, _wl, _m, t) in rows}, reverse=True)
    rounds = sorted({n for by_round in rows.values() for n in by_round})
    have_torch = any(fw == "pytorch" for (fw, *_rest) in rows)

    head = ["workload", "mode"]
    for t in threads:
        head += [f"Strata {t}t", f"PyTorch {t}t", f"ratio {t}t"] if have_torch else [f"Strata {t}t"]
    head += ["target", "notes"]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    missed = []
    tally = {}  # category -> [met, judged]

    def judge(category, ok, what):
        counts = tally.setdefault(category, [0, 0])
        counts[0] += ok
        counts[1] += 1
        if not ok:
            missed.append(what)
        return "" if ok else " ✗"

    for wl, mode in order:
        cells, notes = [wl, mode], []
        target = ""
        if wl in MODEL_WORKLOADS and have_torch:
            target = f"ratio ≥ {RATIO_TARGETS[mode]}"
        elif wl.startswith("gemm"):
            target = f"matmul/raw cblas ≤ {RAW_CBLAS_LIMIT}"
        elif wl == "tiny":
            target = f"≤ {TINY_US_LIMIT:g} µs/op"
        for t in threads:
            s = rows.get(("strata", wl, mode, t), {})
            p = rows.get(("pytorch", wl, mode, t), {})
            strata = field(s, "samples_per_s")
            if have_torch:
                ratio = Spread(s[n]["samples_per_s"] / p[n]["samples_per_s"] for n in s if n in p)
                mark = ""
                if wl in MODEL_WORKLOADS and ratio:
                    mark = judge("model ratios (train ≥ 1.2, infer ≥ 1.0)", ratio.median >= RATIO_TARGETS[mode],
                                 f"{wl} {mode} {t}t: ratio {ratio.show(two)}, target ≥ {RATIO_TARGETS[mode]}")
                cells += [strata.show(fmt), field(p, "samples_per_s").show(fmt), ratio.show(two, bold=True) + mark]
            else:
                cells.append(strata.show(fmt))
            raw = field(s, "raw_cblas_ratio")
            if raw:
                mark = judge(f"gemm matmul/raw cblas ≤ {RAW_CBLAS_LIMIT}", raw.median <= RAW_CBLAS_LIMIT,
                             f"{wl} {t}t: matmul/raw cblas time {raw.show(three)}, target ≤ {RAW_CBLAS_LIMIT}")
                notes.append(f"{t}t: matmul/raw cblas {raw.show(three)}{mark}")
            us = field(s, "us_per_op")
            if us:
                mark = judge(f"tiny ≤ {TINY_US_LIMIT:g} µs/op", us.median <= TINY_US_LIMIT, f"tiny {t}t: {us.show(three)} µs/op, target ≤ {TINY_US_LIMIT:g}")
                note = f"{t}t: {us.show(three)} µs/op{mark}"
                torch_us = field(p, "us_per_op")
                if torch_us:
                    note += f" (PyTorch {torch_us.show(three)})"
                notes.append(note)
            allocs = field(s, "allocs_per_step")
            if allocs:
                mark = judge("allocs_per_step 0 (Strata lines)", max(allocs.values) == 0, f"{wl} {mode} {t}t: allocs_per_step up to {max(allocs.values)}, target 0")
                if mark:
                    notes.append(f"{t}t: allocs/step {allocs.show(two)}{mark}")
        cells += [target, "; ".join(notes)]
        lines.append("| " + " | ".join(cells) + " |")

    print(f"Samples/s (gemm: products/s), median over {len(rounds)} round(s) with min–max in brackets; "
          + ("ratio = Strata ÷ PyTorch in the same round, > 1 means Strata is faster; ✗ marks a missed target."
             if have_torch else "✗ marks a missed target."))
    print()
    print("\n".join(lines))
    print()
    if not have_torch:
        print("(PyTorch not available: Strata's figures only; the ratio targets are not checked.)")
    print_load([r["load_1m"] for by_round in rows.values() for r in by_round.values() if "load_1m" in r])
    print("Targets met, on the medians: " + "; ".join(f"{c}: {ok} of {n}" for c, (ok, n) in tally.items()) + ".")
    for m in missed:
        print(f"- missed: {m}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
