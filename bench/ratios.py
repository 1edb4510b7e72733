#!/usr/bin/env python3
"""Prints the Strata/PyTorch samples_per_s ratio for each workload, mode and thread count.

Reads the JSONL files `make bench` writes (dlbench's and torch_reference.py's lines, any mix) and prints a
Markdown table: one row per workload and mode, Strata's and PyTorch's samples/s and their ratio at each
thread count (> 1 means Strata is faster). Without PyTorch lines it prints Strata's figures alone.
The `tiny` row also shows µs per op, and gemm rows the ratio of Strata's matmul to raw cblas_sgemm.

Usage: python3 bench/ratios.py FILE.jsonl [FILE.jsonl ...]
"""
import json
import sys


def load(paths):
    rows = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    r = json.loads(line)
                    rows[(r["framework"], r["workload"], r["mode"], r["threads"])] = r
    return rows


def fmt(x):
    return "—" if x is None else (f"{x:,.1f}" if x < 1000 else f"{x:,.0f}")


def main(paths):
    rows = load(paths)
    order = []
    for (fw, wl, mode, _t) in rows:
        if fw == "strata" and (wl, mode) not in order:
            order.append((wl, mode))
    threads = sorted({t for (_fw, _wl, _m, t) in rows}, reverse=True)
    have_torch = any(fw == "pytorch" for (fw, *_rest) in rows)
    head = ["workload", "mode"]
    for t in threads:
        head += [f"Strata {t}t", f"PyTorch {t}t", f"ratio {t}t"] if have_torch else [f"Strata {t}t"]
    head.append("notes")
    print("| " + " | ".join(head) + " |")
    print("| " + " | ".join("---" for _ in head) + " |")
    for wl, mode in order:
        cells = [wl, mode]
        notes = []
        for t in threads:
            s = rows.get(("strata", wl, mode, t))
            p = rows.get(("pytorch", wl, mode, t))
            sv = s["samples_per_s"] if s else None
            pv = p["samples_per_s"] if p else None
            if have_torch:
                ratio = f"**{sv / pv:.2f}**" if sv and pv else "—"
                cells += [fmt(sv), fmt(pv), ratio]
            else:
                cells.append(fmt(sv))
            if s and "us_per_op" in s:
                note = f"{t}t: {s['us_per_op']} µs/op"
                if p and "us_per_op" in p:
                    note += f" (PyTorch {p['us_per_op']})"
                notes.append(note)
            if s and "raw_cblas_ratio" in s:
                notes.append(f"{t}t: matmul/raw cblas time {s['raw_cblas_ratio']}")
            if s and "allocs_per_step" in s and s["allocs_per_step"] != 0:
                notes.append(f"{t}t: {s['allocs_per_step']} allocs/step")
        cells.append("; ".join(notes))
        print("| " + " | ".join(cells) + " |")
    if not have_torch:
        print("\n(PyTorch not available: Strata's figures only.)")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
