"""Benchmark: consecutive `arith-tfx run`s on one root, each on a new span and warm-started from
the last pushed model; per run, the wall time, what the Evaluator measured per operation, and
whether the model was pushed. Method and results: docs/benchmarks.md.

    .venv/bin/python bench/continuous_training.py --runs 3 [--profile default] [--root DIR]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def latest_run(root: str):
    """(evaluation shares, push report) of the newest run under root."""
    from pipeline.paths import Paths
    from pipeline.reports import push_report, quality
    from pipeline.state.metadata import Store
    store = Store(Paths(root).metadata_path)
    evaluation = store.artifacts("ModelEvaluation")[0]
    return quality.exact_match(evaluation.uri), push_report.explain(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--root", default="")
    parser.add_argument("--results", default="bench/results/continuous_training.jsonl")
    args = parser.parse_args()
    root = args.root or tempfile.mkdtemp(prefix="arith-continuous-")
    command = [os.path.join(os.path.dirname(sys.executable), "arith-tfx"), "run", "--root", root,
               "--profile", args.profile] + [a for item in args.overrides for a in ("--set", item)]
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores; root {root}", flush=True)
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - started
        shares, report = latest_run(root)
        row = {"run": run, "profile": args.profile, "overrides": args.overrides,
               "seconds": round(seconds), "exact_match": shares, "report": report, "root": root}
        print(json.dumps(row), flush=True)
        os.makedirs(os.path.dirname(args.results), exist_ok=True)
        with open(args.results, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
