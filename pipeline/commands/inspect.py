"""`arith-tfx inspect`: the newest statistics, schema and anomalies, and an HTML report."""
import os

from pipeline.commands.arguments import add_root_arg


def add(commands) -> None:
    parser = commands.add_parser(
        "inspect", help="summarize the latest statistics, schema and anomalies")
    add_root_arg(parser)
    parser.add_argument("--html", metavar="FILE", help="also write a self-contained report")
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    from pipeline.reports import inspection
    return inspection.main(os.path.abspath(args.root), args.html)
