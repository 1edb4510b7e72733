#!/usr/bin/env python3
"""`make bench-e2e`: one epoch of `dltrain train` and of bench/torch_e2e.py per preset, then the table.

For each preset (cnn, then lstm) it runs `dltrain train --model M --epochs 1 --threads T` (every other
setting dltrain's default) and, straight after, `torch_e2e.py --model M --threads T`, the same recipe in
PyTorch. With several rounds, even rounds run the list backwards (PyTorch first, lstm before cnn), as
`make bench` does. Each run's output is echoed and kept in OUT/e2e-r{N}-{strata,pytorch}-{M}-{T}t.log.

The epoch time is dltrain's per-epoch figure (`epoch 1/1: … 12.3s`, Trainer.trainEpoch: from the epoch's
first batch to the end of its last step) and torch_e2e.py's, timed over the same span. The table gives both
(median over rounds, with min–max), their ratio Strata ÷ PyTorch (< 1: Strata is faster; the target is
≤ 1), both test accuracies, and the range of the load averages the runs started at. Without torch it says
so and prints Strata's figures only.

Usage: python3 bench/e2e.py --dltrain PATH --dlbench PATH --threads T [--rounds 1] [--models cnn,lstm]
                           [--out DIR]
"""
import argparse
import json
import os
import re
import subprocess
import sys

import machine
from interleave import torch_importable
from ratios import Spread, print_load, two

HERE = os.path.dirname(os.path.abspath(__file__))
STRATA_EPOCH = re.compile(r"^epoch 1/1: loss (\S+)\s+acc (\S+)%.*\s(\d+(?:\.\d+)?)s\s+(\d+) samples/s")
STRATA_TEST = re.compile(r"^test: loss (\S+)\s+accuracy (\S+)%")


LOADS = []


def run(argv, log):
    """Runs `argv`, echoing and saving its standard output; returns the lines. Notes the load average first."""
    LOADS.append(os.getloadavg()[0])
    print(f"$ {' '.join(argv)}", flush=True)
    done = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
    with open(log, "w") as f:
        f.write(done.stdout)
    for line in done.stdout.splitlines():
        print("  " + line)
    sys.stdout.flush()
    if done.returncode != 0:
        sys.exit(f"make bench-e2e: {' '.join(argv)} exited with status {done.returncode}")
    return done.stdout.splitlines()


def strata_result(lines, log):
    """(epoch seconds, test accuracy) from dltrain's output."""
    epoch = next((m for m in map(STRATA_EPOCH.match, lines) if m), None)
    test = next((m for m in map(STRATA_TEST.match, lines) if m), None)
    if not epoch or not test:
        sys.exit(f"make bench-e2e: no 'epoch 1/1: … s' or 'test: …' line in dltrain's output ({log})")
    return float(epoch.group(3)), float(test.group(2)) / 100


def torch_result(lines, log):
    """(epoch seconds, test accuracy) from torch_e2e.py's JSON line."""
    record = next((json.loads(l) for l in lines if l.startswith("{")), None)
    if record is None:
        sys.exit(f"make bench-e2e: no JSON line in torch_e2e.py's output ({log})")
    return record["epoch_seconds"][0], record["test_accuracy"]


def seconds(x):
    return f"{x:.1f}"


def percent(x):
    return f"{100 * x:.2f}%"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dltrain", required=True, help="the release dltrain binary")
    parser.add_argument("--dlbench", required=True, help="the release dlbench binary (for the header)")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--models", default="cnn,lstm")
    parser.add_argument("--out", default=".build/bench")
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.threads < 1 or args.rounds < 1:
        parser.error("--threads and --rounds must be at least 1")
    if not models or any(m not in ("cnn", "lstm") for m in models):
        parser.error(f"--models must list cnn and/or lstm, got {args.models!r}")

    machine.print_header(args.dlbench)
    have_torch = torch_importable()
    if not have_torch:
        print(f"make bench-e2e: {sys.executable} cannot import torch; printing Strata's figures only "
              "(make bench-e2e PYTHON=/path/to/venv/bin/python to compare).")
    os.makedirs(args.out, exist_ok=True)
    forward = [(m, fw) for m in models for fw in ("strata", "pytorch") if fw == "strata" or have_torch]
    results = {}  # (framework, model) -> [(seconds, accuracy)]
    for r in range(1, args.rounds + 1):
        for m, fw in forward if r % 2 == 1 else reversed(forward):
            log = os.path.join(args.out, f"e2e-r{r}-{fw}-{m}-{args.threads}t.log")
            print(f"== round {r}/{args.rounds}, {args.threads} thread(s), {fw}: {m}, one epoch", flush=True)
            if fw == "strata":
                argv = [args.dltrain, "train", "--model", m, "--epochs", "1", "--threads", str(args.threads)]
                results.setdefault((fw, m), []).append(strata_result(run(argv, log), log))
            else:
                argv = [sys.executable, os.path.join(HERE, "torch_e2e.py"), "--model", m, "--threads", str(args.threads)]
                results.setdefault((fw, m), []).append(torch_result(run(argv, log), log))
    print(f"== finished {machine.stamp()}")
    print()

    rounds = f"median over {args.rounds} rounds with min–max; " if args.rounds > 1 else ""
    ratio = ("time ratio = Strata ÷ PyTorch epoch time in the same round, ≤ 1 meets the target; ✗ marks a miss."
             if have_torch else "")
    print(f"One epoch of MNIST training (60,000 images), {args.threads} thread(s); {rounds}{ratio}")
    print()
    if have_torch:
        print("| model | Strata epoch s | PyTorch epoch s | time ratio | Strata test accuracy | PyTorch test accuracy |")
        print("| --- | --- | --- | --- | --- | --- |")
    else:
        print("| model | Strata epoch s | Strata test accuracy |")
        print("| --- | --- | --- |")
    for m in models:
        s = results[("strata", m)]
        strata_time, strata_acc = Spread(x for x, _ in s), Spread(a for _, a in s)
        if not have_torch:
            print(f"| {m} | {strata_time.show(seconds)} | {strata_acc.show(percent)} |")
            continue
        p = results[("pytorch", m)]
        ratio = Spread(a[0] / b[0] for a, b in zip(s, p))
        mark = "" if ratio.median <= 1 else " ✗"
        print(f"| {m} | {strata_time.show(seconds)} | {Spread(x for x, _ in p).show(seconds)} | "
              f"{ratio.show(two, bold=True)}{mark} | {strata_acc.show(percent)} | {Spread(a for _, a in p).show(percent)} |")
    print()
    if not have_torch:
        print("(PyTorch not available: Strata's figures only; the time target is not checked.)")
    print_load(LOADS)


if __name__ == "__main__":
    main()
