"""`arith-tfx runs`: the past runs on a root: when, what ran, what was pushed."""
import os

from pipeline.commands.arguments import add_root_arg


def add(commands) -> None:
    parser = commands.add_parser("runs", help="list past runs: when, what ran, what was pushed")
    add_root_arg(parser)
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    from pipeline.reports import run_report
    return run_report.show_runs(os.path.abspath(args.root))
