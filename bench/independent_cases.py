"""Exact match of the served model on cases drawn without the project's own code: operands
uniform in [-max_val, max_val] from Python's `random`, results computed here, and the model
asked through `arith-tfx predict` as a user would, each case as `defs:op:res`.

    .venv/bin/python bench/independent_cases.py --root ROOT --max-val 10000 [--cases 1500]

Appends a row to bench/results/independent_cases.jsonl. A check on `bench/fresh_cases.py`,
which draws its cases with the generator the model was trained from.
"""
import argparse
import json
import os
import platform
import random
import subprocess
import sys

OPERATIONS = "+-*"


def cases(count: int, max_val: int, seed: int):
    """(operation, `defs:op:res`) pairs, the operations in turn, both orders equally likely."""
    rng = random.Random(seed)
    drawn = []
    for index in range(count):
        operation = OPERATIONS[index % len(OPERATIONS)]
        x, y = rng.randint(-max_val, max_val), rng.randint(-max_val, max_val)
        defs = f"x={x},y={y}" if rng.random() < 0.5 else f"y={y},x={x}"
        first, second = ("x", "y") if rng.random() < 0.5 else ("y", "x")
        a, b = (x, y) if first == "x" else (y, x)
        result = {"+": a + b, "-": a - b, "*": a * b}[operation]
        drawn.append((operation, f"{defs}:{first}{operation}{second}:{result}"))
    return drawn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--max-val", type=int, required=True)
    parser.add_argument("--cases", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--name", default="")
    parser.add_argument("--results", default="bench/results/independent_cases.jsonl")
    args = parser.parse_args()
    drawn = cases(args.cases, args.max_val, args.seed)
    command = os.path.join(os.path.dirname(sys.executable), "arith-tfx")
    answered = subprocess.run([command, "predict", "--root", args.root],
                              input="".join(line + "\n" for _, line in drawn),
                              capture_output=True, text=True)
    lines = answered.stdout.splitlines()
    if len(lines) != len(drawn):
        sys.stderr.write(answered.stderr[-2000:])
        raise SystemExit(f"arith-tfx predict answered {len(lines)} of {len(drawn)} cases")
    right = {operation: [0, 0] for operation in OPERATIONS}
    for (operation, _), line in zip(drawn, lines):
        right[operation][0] += line.rstrip().endswith(" correct")
        right[operation][1] += 1
    version = answered.stderr.strip().splitlines()[-1]  # "(model version N)"
    print(version)
    for operation, (good, total) in right.items():
        print(f"{operation}  {good}/{total} = {100 * good / total:.1f}%")
    row = {"name": args.name, "root": args.root, "model": version.strip("()"),
           "max_val": args.max_val, "seed": args.seed,
           **{operation: [good, total] for operation, (good, total) in right.items()},
           "machine": f"{platform.node()} {os.cpu_count()} cores"}
    with open(args.results, "a") as f:
        f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
