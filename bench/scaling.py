#!/usr/bin/env python3
"""Prints the data-parallel scaling table of `make bench-distributed`.

Reads dlbench's JSONL from one process with 2 threads and from `mpirun -np 2` ranks with 1 thread each (lines
with a "ranks" field), and prints, per workload's train step: the samples/s of each, their ratio, the
all-reduce's share of a distributed step, and the step times. Each rank trains on the workload's full batch,
so a distributed step processes ranks × batch samples (weak scaling, as PyTorch's DDP is used).

Usage: python3 bench/scaling.py SINGLE.jsonl DISTRIBUTED.jsonl
"""
import json
import sys


def train_rows(path):
    rows = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                if r["mode"] == "train":
                    rows[r["workload"]] = r
    return rows


def main(single_path, distributed_path):
    single, distributed = train_rows(single_path), train_rows(distributed_path)
    print("| workload | 1 rank × {}t samples/s | {} ranks × {}t samples/s | ratio | allreduce share | step ms (1 rank / per rank) |".format(
        next(iter(single.values()))["threads"] if single else "?",
        next(iter(distributed.values()))["ranks"] if distributed else "?",
        next(iter(distributed.values()))["threads"] if distributed else "?"))
    print("| --- | --- | --- | --- | --- | --- |")
    for name, d in distributed.items():
        s = single.get(name)
        if s is None:
            continue
        ratio = d["samples_per_s"] / s["samples_per_s"]
        print(f"| {name} | {s['samples_per_s']:,.1f} | {d['samples_per_s']:,.1f} | {ratio:.2f} | "
              f"{100 * d['allreduce_share']:.1f}% | {s['step_ms']:.1f} / {d['step_ms']:.1f} |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
