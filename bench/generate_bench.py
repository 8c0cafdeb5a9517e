"""Benchmark: samples/s of `arith-tfx generate`, the whole command timed from the outside."""
import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    command = [os.path.join(os.path.dirname(sys.executable), "arith-tfx"), "generate",
               "--samples", str(args.samples), "--shards", str(args.shards),
               "--workers", str(args.workers), "--seed", "1"]
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"command: {' '.join(command[1:])} --out <tmp>")
    rates = []
    for repeat in range(args.repeats):
        out = tempfile.mkdtemp(prefix="arith-bench-")
        started = time.perf_counter()
        subprocess.run(command + ["--out", out], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        shutil.rmtree(out)
        rates.append(args.samples / elapsed)
        print(f"run {repeat + 1}: {elapsed:.1f} s wall, {rates[-1]:,.0f} samples/s")
    rates.sort()
    print(f"median: {rates[len(rates) // 2]:,.0f} samples/s (whole command, start-up included)")


if __name__ == "__main__":
    main()
