"""How the pipeline's Beam steps scale with the data, on the DirectRunner and on a local Flink
cluster with one or two TaskManagers: wall time per component (from the run's own progress
lines) and peak memory (resident set of every process involved: the run and its Beam workers,
and for Flink the JobManager, TaskManagers, job server and SDK workers), sampled twice a second.

    .venv/bin/python bench/scaling.py --samples 10000 100000 --runners direct flink-1 flink-2
    .venv/bin/python bench/scaling.py --generator-only --samples 1000000 10000000

Each run is a fresh root with the default profile at `generator.samples=N` and a short training
(`model.train_steps`, default 50): the Trainer is not what is measured here, but the Evaluator
needs a model. Results are appended to bench/results/scaling.jsonl."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List

import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cluster import flink_cluster, processes  # noqa: E402
from cluster.config import ClusterConfig  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "scaling.jsonl")
PROGRESS = re.compile(r"^\s+(\d\d):(\d\d):(\d\d) (\w+) (started|finished in|cached)")


class MemorySampler(threading.Thread):
    """Peak total RSS of some process trees, with a timeline to split it by component."""

    def __init__(self, roots: List[int]):
        super().__init__(daemon=True)
        self.roots, self.samples, self._done = roots, [], threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.5):
            total = 0
            for pid in self.roots:
                try:
                    root = psutil.Process(pid)
                    for process in [root] + root.children(recursive=True):
                        total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.samples.append((time.time(), total))

    def stop(self) -> None:
        self._done.set()
        self.join()

    def peak(self, start: float = 0.0, end: float = float("inf")) -> float:
        inside = [rss for at, rss in self.samples if start <= at <= end + 1]
        return max(inside, default=0) / 2**20


def _component_times(stdout: str, day_start: float) -> Dict[str, Dict[str, float]]:
    """{component: {start, end, seconds}} from the run's progress lines."""
    found: Dict[str, Dict[str, float]] = {}
    for line in stdout.splitlines():
        match = PROGRESS.match(line)
        if not match:
            continue
        hours, minutes, seconds, component, what = match.groups()
        at = day_start + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
        entry = found.setdefault(component, {})
        entry["start" if what == "started" else "end"] = at
        if what == "finished in":
            entry["seconds"] = float(line.split("finished in")[1].split()[0])
    return found


def run_pipeline(runner: str, samples: int, train_steps: int) -> Dict:
    root = tempfile.mkdtemp(prefix="arith-scaling-")
    cluster = None
    command = [os.path.join(os.path.dirname(sys.executable), "arith-tfx"), "run", "--root", root,
               "--set", f"generator.samples={samples}", "--set", "generator.span=1",
               "--set", f"model.train_steps={train_steps}"]
    watched = []
    failed = False  # a failed run keeps its root and the cluster's logs
    try:
        if runner.startswith("flink"):
            rest, rpc, job, artifact, pool = processes.free_ports(5)
            cluster = ClusterConfig(state_dir=os.path.join(root, "cluster"),
                                    task_managers=int(runner.split("-")[1]), rest_port=rest,
                                    rpc_port=rpc, job_port=job, artifact_port=artifact,
                                    worker_pool_port=pool)
            flink_cluster.up(cluster, log=lambda line: None)
            watched = [record["pid"] for record in processes.recorded(cluster.state_dir).values()]
            command += ["--runner", "flink", "--job-endpoint", cluster.job_endpoint,
                        "--worker-pool", cluster.worker_pool]
        started = time.time()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)
        sampler = MemorySampler(watched + [process.pid])
        sampler.start()
        stdout, _ = process.communicate()
        sampler.stop()
        wall = time.time() - started
        if process.returncode != 0:
            raise RuntimeError(f"{runner} {samples}: run failed (its root and the cluster's logs "
                               f"are kept in {root}):\n{stdout[-3000:]}")
        day_start = time.mktime(time.strptime(time.strftime("%Y-%m-%d", time.localtime(started)),
                                              "%Y-%m-%d"))
        components = _component_times(stdout, day_start)
        return {"runner": runner, "samples": samples, "train_steps": train_steps,
                "wall_seconds": round(wall, 1), "peak_rss_mib": round(sampler.peak()),
                "components": {name: {"seconds": entry.get("seconds"),
                                      "peak_rss_mib": round(sampler.peak(entry["start"],
                                                                         entry["end"]))}
                               for name, entry in components.items()
                               if "start" in entry and "end" in entry}}
    except BaseException:
        failed = True
        raise
    finally:
        if cluster is not None:
            flink_cluster.down(cluster, log=lambda line: None)
        if not failed:
            shutil.rmtree(root, ignore_errors=True)


def run_generator(samples: int, workers: int) -> Dict:
    out = tempfile.mkdtemp(prefix="arith-generate-")
    try:
        command = [os.path.join(os.path.dirname(sys.executable), "arith-tfx"), "generate",
                   "--samples", str(samples), "--shards", "8", "--out", out,
                   "--workers", str(workers)]
        started = time.time()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)
        sampler = MemorySampler([process.pid])
        sampler.start()
        stdout, _ = process.communicate()
        sampler.stop()
        if process.returncode != 0:
            raise RuntimeError(f"generate {samples}: failed:\n{stdout[-2000:]}")
        wall = time.time() - started
        return {"runner": f"direct-{workers}", "generator_only": True, "samples": samples,
                "wall_seconds": round(wall, 1), "samples_per_second": round(samples / wall),
                "peak_rss_mib": round(sampler.peak())}
    finally:
        shutil.rmtree(out, ignore_errors=True)


BEAM_STEPS = ("SampleGenerator", "ImportExampleGen", "StatisticsGen", "Transform", "Evaluator")


def table() -> str:
    """The newest result of each (runner, samples) as a markdown table: seconds and peak MiB
    per Beam step, then the whole run."""
    newest: Dict = {}
    with open(RESULTS) as results:
        for line in results:
            result = json.loads(line)
            if not result.get("generator_only"):
                newest[(result["samples"], result["runner"])] = result
    header = ("| samples | runner | " + " | ".join(BEAM_STEPS)
              + " | Trainer | whole run | peak memory |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for (samples, runner), result in sorted(newest.items()):
        if "failed" in result:
            lines.append(f"| {samples:,} | {runner} | failed: see the text |" + " |" * 7)
            continue
        steps = [result["components"].get(step, {}) for step in BEAM_STEPS + ("Trainer",)]
        lines.append(f"| {samples:,} | {runner} | " + " | ".join(
            f"{step.get('seconds', 0):.0f} s, {step.get('peak_rss_mib', 0):,} MiB"
            for step in steps)
            + f" | {result['wall_seconds']:.0f} s | {result['peak_rss_mib']:,} MiB |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runners", nargs="+", default=["direct", "flink-1", "flink-2"],
                        help="direct, flink-1 (one TaskManager) or flink-2 (two)")
    parser.add_argument("--train-steps", type=int, default=50)
    parser.add_argument("--generator-only", action="store_true",
                        help="time `arith-tfx generate` alone (DirectRunner, 2 workers)")
    parser.add_argument("--table", action="store_true",
                        help="print the newest results as a markdown table and exit")
    args = parser.parse_args()
    if args.table:
        print(table())
        return 0
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    for samples in args.samples:
        for runner in (["direct-2"] if args.generator_only else args.runners):
            try:
                result = (run_generator(samples, 2) if args.generator_only
                          else run_pipeline(runner, samples, args.train_steps))
            except RuntimeError as error:  # recorded, and the other sizes and runners still run
                print(error, file=sys.stderr, flush=True)
                result = {"runner": runner, "samples": samples, "train_steps": args.train_steps,
                          "failed": str(error).split("\n")[0],
                          "generator_only": args.generator_only}
            result["measured"] = time.strftime("%Y-%m-%d %H:%M")
            print(json.dumps(result), flush=True)
            with open(RESULTS, "a") as results:
                results.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
