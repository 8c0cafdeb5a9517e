"""Benchmark: `arith-tfx serve` under load over loopback, with a real HTTP client (requests,
one keep-alive session per client thread). For each concurrency, a fixed number of requests of
one expression each (operands uniform in [-99, 99], + - * equally likely); halfway through, a
new version is published into the serving directory, and the run counts the answers of each
version and every failed request. Method and results: docs/benchmarks.md.

    .venv/bin/python bench/serve_load.py --root ROOT [--levels 1:2000,8:6000,32:12000]
        [--server-arg=--max-batch=1] [--server uvicorn]

`--server uvicorn` measures the same endpoints and model side on an ASGI server instead
(bench/asgi_serve.py, needs `pip install --ignore-requires-python -c constraints.txt -e '.[test,bench]'`).
"""
import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from components.atomic_pusher import serving_dir as serving_layout  # noqa: E402


SERVERS = {
    "serve": [sys.executable, "-m", "pipeline.commands.cli", "serve"],
    "uvicorn": [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "asgi_serve.py")],
}


def start_server(server: str, serving: str, server_args):
    process = subprocess.Popen(
        [*SERVERS[server], "--model-dir", serving, "--port", "0", "--poll-seconds", "0.5",
         *server_args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    if " on http" not in line:
        raise SystemExit(f"the server did not start: {line!r}")
    return process, line.split(" on ")[1].split()[0]


def expression(rng: random.Random) -> dict:
    x, y = rng.randint(-99, 99), rng.randint(-99, 99)
    first, second = rng.sample(["x", "y"], 2)
    return {"defs": f"x={x},y={y}", "op": f"{first}{rng.choice('+-*')}{second}"}


def level(url: str, serving: str, concurrency: int, total: int, seed: int) -> dict:
    latencies, versions, failures = [], Counter(), []
    lock, counter = threading.Lock(), iter(range(total))
    halfway, published = threading.Event(), []

    def client(index: int):
        rng = random.Random(seed * 1000 + index)
        with requests.Session() as session:
            while True:
                with lock:
                    number = next(counter, None)
                if number is None:
                    return
                if number == total // 2:
                    halfway.set()
                started = time.perf_counter()
                try:
                    reply = session.post(f"{url}:predict", json={"instances": [expression(rng)]},
                                         timeout=60)
                    ok = reply.status_code == 200 and "predictions" in reply.json()
                except requests.RequestException as error:
                    reply, ok = None, False
                    failures.append(repr(error))
                elapsed = time.perf_counter() - started
                with lock:
                    if ok:
                        latencies.append(elapsed)
                        versions[reply.headers.get("X-Model-Version")] += 1
                    elif reply is not None:
                        failures.append(f"{reply.status_code} {reply.text[:200]}")

    def publisher():
        halfway.wait()
        latest = serving_layout.versions(serving)[-1]
        published.append(serving_layout.publish(os.path.join(serving, str(latest)), serving))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    pushing = threading.Thread(target=publisher, daemon=True)
    started = time.perf_counter()
    pushing.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {"concurrency": concurrency, "requests": total, "failed": len(failures),
            "failures": failures[:5], "seconds": round(wall, 2),
            "requests_per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(1000 * statistics.median(latencies), 1),
            "p99_ms": round(1000 * latencies[min(len(latencies) - 1,
                                                 int(0.99 * len(latencies)))], 1),
            "answers_per_version": dict(versions), "published": published}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--root", help="a root with at least one pushed version")
    source.add_argument("--model-dir", help="a serving directory")
    parser.add_argument("--levels", default="1:2000,8:6000,32:12000",
                        help="concurrency:requests,...")
    parser.add_argument("--server", choices=sorted(SERVERS), default="serve",
                        help="arith-tfx serve (http.server), or the ASGI variant on uvicorn")
    parser.add_argument("--server-arg", action="append", default=[])
    parser.add_argument("--name", default="default server")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", default="bench/results/serve_load.jsonl")
    args = parser.parse_args()
    source_dir = args.model_dir or os.path.join(args.root, "serving")
    latest = serving_layout.versions(source_dir)[-1]
    # The server gets a serving directory of its own: the pushes here touch nothing of the user's.
    serving = os.path.join(tempfile.mkdtemp(prefix="arith-serve-load-"), "serving")
    shutil.copytree(os.path.join(source_dir, str(latest)), os.path.join(serving, str(latest)))
    process, url = start_server(args.server, serving, args.server_arg)
    try:
        for concurrency, total in (map(int, item.split(":")) for item in args.levels.split(",")):
            requests.post(f"{url}:predict", json={"instances": [{"defs": "x=1,y=2", "op": "x+y"}]},
                          timeout=60)  # the version just published is loaded before the next level
            time.sleep(1.5)
            row = {"name": args.name, "server": args.server, "server_args": args.server_arg,
                   **level(url, serving, concurrency, total, args.seed),
                   "machine": f"{platform.node()} {os.cpu_count()} cores"}
            print(json.dumps(row), flush=True)
            with open(args.results, "a") as f:
                f.write(json.dumps(row) + "\n")
    finally:
        process.terminate()
        process.wait(timeout=60)
        shutil.rmtree(os.path.dirname(serving), ignore_errors=True)


if __name__ == "__main__":
    main()
