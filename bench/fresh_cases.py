"""Benchmark: a pushed model's exact match on fresh cases, through its serving signature.

Operands uniform in the model's trained range (`--cases` in all, the operations taking turns),
as the reference draws them, also broken down by the result's digit count; per operation and
digit count of the longer operand (`--per-digits` each), whatever the training span's own mix;
on a second distribution, carry and borrow chains through every place (`--per-digits` per
operation); and with one operand at an end of the range, ±max_val (`--per-digits` per
operation). Method and results: docs/benchmarks.md.

    .venv/bin/python bench/fresh_cases.py --root ROOT [--version V] [--cases 1500]
"""
import argparse
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cases  # noqa: E402  (bench/cases.py, beside this script)

# The operations asked by default; their order seeds each operation's cases.
DEFAULT_OPS = "+,-,*"


def served_answers(serve, columns):
    """The served answer to each case (its `res` and `error`), in batches of 500."""
    import tensorflow as tf
    from modules import serving_contract
    defs, op, _ = columns
    answers = []
    for start in range(0, len(defs), 500):
        requests = [serving_contract.request(d, o)
                    for d, o in zip(defs[start:start + 500], op[start:start + 500])]
        out = serve(**{serving_contract.INPUT: tf.constant(requests)})
        answers += serving_contract.answers(out)
    return answers


def is_right(answer, expected) -> bool:
    """A served answer is right when its `res` is the expected result and it has no error."""
    return answer["res"] == expected and not answer["error"]


def answered_right(serve, columns):
    """One bool per case: served `res` is the expected result."""
    return [is_right(answer, expected)
            for answer, expected in zip(served_answers(serve, columns), columns[2])]


def exact_match(serve, columns) -> float:
    return sum(answered_right(serve, columns)) / len(columns[0])


def by_result_digits(right, results):
    """Exact match per digit count of the expected result, with the count of cases: where a
    uniform draw's misses are (for `+` and `-`, results far shorter than their operands)."""
    groups = {}
    for ok, result in zip(right, results):
        groups.setdefault(len(result.lstrip("-")), []).append(ok)
    return {digits: [round(sum(oks) / len(oks), 4), len(oks)]
            for digits, oks in sorted(groups.items())}


def add_model_arguments(parser) -> None:
    """--root, --version, --model-dir: which pushed model to ask."""
    parser.add_argument("--root", default="", help="a pipeline root (its newest pushed model)")
    parser.add_argument("--version", default=None)
    parser.add_argument("--model-dir", default="", help="or a SavedModel folder")


def load_model(args):
    """The model the arguments name: its folder, its operand range and its serving function."""
    import tensorflow as tf
    from modules import export, serving_contract
    from pipeline import paths
    from pipeline.serving import predict
    directory = args.model_dir or predict.model_dir(paths.Paths(args.root).serving_dir,
                                                    args.version)
    max_val = export.read_info(directory)["max_val"]
    return directory, max_val, tf.saved_model.load(directory).signatures[
        serving_contract.SIGNATURE]


def uniform_cases(count, ops, index, max_val):
    """Operation ops[index]'s share of `count` cases with uniform operands."""
    share = count // len(ops) + (1 if index < count % len(ops) else 0)
    return cases.uniform(share, max_val, (ops[index],), cases.UNIFORM_SEED + index)


def longest_cases(count, ops, index, max_val, digits):
    """`count` cases of operation ops[index] whose longer operand has `digits` digits."""
    return cases.longest(count, max_val, ops[index], digits, cases.DIGITS_SEED + index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    parser.add_argument("--cases", type=int, default=1500)
    parser.add_argument("--per-digits", type=int, default=300)
    parser.add_argument("--ops", default=DEFAULT_OPS)
    parser.add_argument("--name", default="")
    parser.add_argument("--results", default="bench/results/fresh_cases.jsonl")
    args = parser.parse_args()

    directory, max_val, serve = load_model(args)
    ops = tuple(args.ops.split(","))
    row = {"name": args.name, "model": directory, "max_val": max_val}
    per_op, per_result = {}, {}
    for index, operation in enumerate(ops):
        drawn = uniform_cases(args.cases, ops, index, max_val)
        right = answered_right(serve, drawn)
        per_op[operation] = sum(right) / len(right)
        per_result[operation] = by_result_digits(right, drawn[2])
    row["cases"] = args.cases
    row["all"] = round(sum(per_op.values()) / len(per_op), 4)
    row.update({operation: round(share, 4) for operation, share in per_op.items()})
    row["uniform_by_result_digits"] = per_result
    row["by_digits"] = {
        operation: {digits: round(exact_match(serve, longest_cases(
            args.per_digits, ops, index, max_val, digits)), 4)
            for digits in cases.digit_counts(max_val)}
        for index, operation in enumerate(ops)}
    row["carry_chains"] = {
        operation: round(exact_match(serve, cases.carry_chains(
            args.per_digits, max_val, operation)), 4) for operation in ops}
    row["range_ends"] = {
        operation: round(exact_match(serve, cases.range_ends(
            args.per_digits, max_val, operation)), 4) for operation in ops}
    row["machine"] = f"{platform.node()} {os.cpu_count()} cores"
    print(json.dumps(row))
    os.makedirs(os.path.dirname(args.results), exist_ok=True)
    with open(args.results, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
