#!/usr/bin/env python3
"""The anchor for `kumo bench tensor`: OpenBLAS sgemm GFLOP/s through numpy, measured in the same run.

Usage: sgemm_anchor.py N [N ...] [--reps R]
Thread count comes from OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, which the caller sets before starting Python
(OpenBLAS reads them once, at load). Prints one JSON line: {"n256": gflops, ..., "blas": "<library numpy loaded>"}.
"""
import json
import sys
import time

import numpy as np


def best_gflops(n: int, reps: int) -> float:
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    np.dot(a, b, out=c)  # warm-up: loads the library, starts its threads
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        np.dot(a, b, out=c)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n * n * n / best / 1e9


def loaded_blas() -> str:
    """The BLAS shared library actually mapped into this process (numpy's build info names only what it linked)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            libs = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    return ",".join(sorted(libs)) or "unknown"


def main() -> None:
    args = sys.argv[1:]
    reps = 5
    if "--reps" in args:
        i = args.index("--reps")
        reps = int(args[i + 1])
        del args[i:i + 2]
    sizes = [int(x) for x in args] or [256, 1024, 2048]
    result = {f"n{n}": round(best_gflops(n, reps if n < 2048 else max(2, reps // 2)), 2) for n in sizes}
    result["blas"] = loaded_blas()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
