#!/usr/bin/env python3
"""Prints the header every benchmark log starts with, so a run's log says what it ran on.

The lines: the UTC time, the commit (with "+ uncommitted changes" when the work tree differs), the load
average; `lscpu`'s model name, family, model and CPU count; the CPU's SIMD flags (SSE4, AVX, AVX2, FMA, F16C, AVX-512, AMX);
what `dlbench --info` prints (the OpenBLAS build and core from `openblas_get_config()`, Strata's thread count
and, where dlbench names it, the ISA level of Strata's kernels); PyTorch's version, MKL, oneDNN and CPU
capability as the Python running this script imports it, or that it cannot.

Usage: python3 bench/machine.py DLBENCH
"""
import os
import re
import subprocess
import sys
import time

SIMD_FLAG = re.compile(r"^(sse4_[12]|avx.*|fma|f16c|amx.*)$")


def command_output(argv):
    """`argv`'s standard output, or None when it cannot run or fails."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout


def lscpu_fields():
    """`lscpu`'s "Field: value" lines as a dict (empty without lscpu)."""
    fields = {}
    for line in (command_output(["lscpu"]) or "").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    return fields


def commit():
    """The short commit hash of the checkout, with a note when the work tree has changes."""
    head = command_output(["git", "rev-parse", "--short", "HEAD"])
    if head is None:
        return "unknown (not a git checkout)"
    dirty = command_output(["git", "status", "--porcelain", "--untracked-files=no"])
    return head.strip() + (" + uncommitted changes" if dirty else "")


def torch_line():
    """One line describing the PyTorch this interpreter imports, or saying it cannot."""
    probe = ("import torch; print('PyTorch', torch.__version__, '| MKL:', torch.backends.mkl.is_available(), "
             "'| oneDNN:', torch.backends.mkldnn.is_available(), '| CPU capability:', "
             "torch.backends.cpu.get_cpu_capability())")
    out = command_output([sys.executable, "-c", probe])
    return out.strip() if out else f"PyTorch: {sys.executable} cannot import torch"


def stamp():
    """The UTC time and load average, for the start and end lines of a run."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average {load}"


def print_header(dlbench):
    fields = lscpu_fields()
    flags = [f for f in fields.get("Flags", "").split() if SIMD_FLAG.match(f)]
    print(f"== {stamp()}")
    print(f"commit: {commit()}")
    print(f"cpu: {fields.get('Model name', 'unknown (no lscpu)')} (family {fields.get('CPU family', '?')}, "
          f"model {fields.get('Model', '?')}), {fields.get('CPU(s)', '?')} CPUs")
    print(f"simd flags: {' '.join(flags) or 'none of sse4/avx/fma/f16c/amx'}")
    info = command_output([dlbench, "--info"])
    if info is None:
        sys.exit(f"machine.py: {dlbench} --info failed")
    print("dlbench --info:")
    for line in info.splitlines():
        print("  " + line)
    print(torch_line())
    sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print_header(sys.argv[1])
