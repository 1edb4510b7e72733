#!/usr/bin/env python3
"""`make bench`: dlbench and bench/torch_reference.py in interleaved rounds, then the median ratio table.

The order is chosen so that a ratio compares two measurements taken under the same load:
- Each workload is its own pair of runs: Strata's, then straight after it PyTorch's, at one thread count. So
  the two halves of a ratio are seconds apart, not a whole pass over every workload (minutes) apart.
- Round 1 runs the pairs at 2 threads, then at 1, each Strata first. Round 2 runs the same list backwards:
  PyTorch first in every pair, 1 thread before 2, the last workload first. Round 3 is round 1's order again,
  and so on. A load that rises or falls steadily through the run then favours neither side, and neither side
  always runs second (on caches and clocks the other left behind).
Each line gets its round number ("round": N) and the 1-minute load average when its process started
("load_1m"), and goes to `OUT/r{N}-{strata,pytorch}-{T}t.jsonl`.
`bench/ratios.py` then prints, for every workload, mode and thread count, the median over rounds of the
per-round ratio with its min–max, and the targets missed.

Without torch (this interpreter cannot import it) it says so and runs Strata alone, for the same rounds.

Usage: python3 bench/interleave.py --dlbench PATH [--rounds 3] [--threads 2,1] [--out DIR]
                                   [--only gemm,mlp,...] [--steps N] [--warmup N]
"""
import argparse
import glob
import json
import os
import subprocess
import sys

import machine
import ratios

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ONLY = "gemm,mlp,cnn,cifar,lstm,transformer,tiny"


def schedule(rounds, threads, units):
    """The runs in order: (round, threads, workload, framework), interleaved as the module doc says."""
    forward = [(t, u, fw) for t in threads for u in units for fw in ("strata", "pytorch")]
    order = []
    for r in range(1, rounds + 1):
        order += [(r, t, u, fw) for (t, u, fw) in (forward if r % 2 == 1 else reversed(forward))]
    return order


def torch_importable():
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def run_one(argv, sink, round_number):
    """Runs one benchmark process; echoes its JSON lines and appends them to `sink`, each tagged with the round
    and the 1-minute load average when the process started."""
    load = round(os.getloadavg()[0], 2)
    done = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"make bench: {' '.join(argv)} exited with status {done.returncode}")
    with open(sink, "a") as f:
        for line in done.stdout.splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                record["round"] = round_number
                record["load_1m"] = load
                f.write(json.dumps(record) + "\n")
            print("  " + line)
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dlbench", required=True, help="the release dlbench binary")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="2,1", help="comma-separated thread counts, in round 1's order")
    parser.add_argument("--out", default=".build/bench", help="directory for the per-round JSONL files")
    parser.add_argument("--only", default=DEFAULT_ONLY, help="comma-separated workloads, each run as its own pair")
    parser.add_argument("--steps", type=int, help="timed steps per workload (both harnesses' default: 30)")
    parser.add_argument("--warmup", type=int, help="warm-up steps (both harnesses' default: 5)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    try:
        threads = [int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        parser.error(f"--threads must be comma-separated integers, got {args.threads!r}")
    if not threads or min(threads) < 1:
        parser.error(f"--threads must list thread counts of at least 1, got {args.threads!r}")
    units = [u.strip() for u in args.only.split(",") if u.strip()]
    if not units:
        parser.error("--only names no workload")
    extra = []
    if args.steps is not None:
        extra += ["--steps", str(args.steps)]
    if args.warmup is not None:
        extra += ["--warmup", str(args.warmup)]

    machine.print_header(args.dlbench)
    have_torch = torch_importable()
    if not have_torch:
        print(f"make bench: {sys.executable} cannot import torch; printing Strata's figures only "
              "(make bench PYTHON=/path/to/venv/bin/python to compare).")
    os.makedirs(args.out, exist_ok=True)
    for old in glob.glob(os.path.join(args.out, "r[0-9]*-strata-*t.jsonl")) + \
            glob.glob(os.path.join(args.out, "r[0-9]*-pytorch-*t.jsonl")):
        os.remove(old)
    print(f"{args.rounds} round(s); order of round 1 (even rounds reversed): " +
          ", ".join(f"{u} {t}t" for t in threads for u in units))
    written = []
    for (r, t, unit, fw) in schedule(args.rounds, threads, units):
        if fw == "pytorch" and not have_torch:
            continue
        sink = os.path.join(args.out, f"r{r}-{fw}-{t}t.jsonl")
        if sink not in written:
            written.append(sink)
        print(f"== round {r}/{args.rounds}, {t} thread(s), {fw}: {unit}")
        sys.stdout.flush()
        if fw == "strata":
            argv = [args.dlbench, "--threads", str(t), "--only", unit] + extra
        else:
            argv = [sys.executable, os.path.join(HERE, "torch_reference.py"), "--threads", str(t), "--only", unit] + extra
        run_one(argv, sink, r)
    print(f"== finished {machine.stamp()}")
    print()
    ratios.main(sorted(written))


if __name__ == "__main__":
    main()
