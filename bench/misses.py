"""Benchmark helper: what a pushed model wrote where it was wrong, on bench/fresh_cases.py's
own cases (uniform operands; operands by digit count of the longer one), the first `--limit`
misses per operation and kind, as `problem  got 'written'  want 'expected'`.

    .venv/bin/python bench/misses.py --root ROOT [--ops +,-] [--digits 1,2] [--limit 12]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cases  # noqa: E402  (bench/cases.py, beside this script)
import fresh_cases  # noqa: E402


def show(label, serve, columns, limit):
    answers = fresh_cases.served_answers(serve, columns)
    misses = [(d, o, a["error"] or a["res"], r) for d, o, a, r in zip(*columns[:2], answers,
                                                                      columns[2])
              if not fresh_cases.is_right(a, r)]
    print(f"{label}: {len(misses)} of {len(answers)} wrong")
    for defs, op, written, expected in misses[:limit]:
        print(f"   {defs}:{op}  got {written!r}  want {expected!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    fresh_cases.add_model_arguments(parser)
    parser.add_argument("--ops", default=fresh_cases.DEFAULT_OPS,
                        help="which of fresh_cases.py's default operations to show")
    parser.add_argument("--digits", default="", help="digit counts of the longer operand "
                                                     "(default: every count of the range)")
    parser.add_argument("--cases", type=int, default=1500, help="as fresh_cases.py's")
    parser.add_argument("--per-digits", type=int, default=300, help="as fresh_cases.py's")
    parser.add_argument("--limit", type=int, default=12)
    args = parser.parse_args()

    _, max_val, serve = fresh_cases.load_model(args)
    digits = ([int(d) for d in args.digits.split(",")] if args.digits
              else cases.digit_counts(max_val))
    ops = tuple(fresh_cases.DEFAULT_OPS.split(","))
    for index, operation in enumerate(ops):
        if operation not in args.ops.split(","):
            continue
        show(f"{operation} uniform", serve,
             fresh_cases.uniform_cases(args.cases, ops, index, max_val), args.limit)
        for count in digits:
            show(f"{operation} longer operand of {count} digits", serve,
                 fresh_cases.longest_cases(args.per_digits, ops, index, max_val, count),
                 args.limit)


if __name__ == "__main__":
    main()
