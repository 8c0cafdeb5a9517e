"""`arith-tfx lineage`: what a pushed model was made from (pipeline/reports/lineage.py)."""
import os

from pipeline.commands.arguments import add_root_arg


def add(commands) -> None:
    parser = commands.add_parser(
        "lineage", help="show what a pushed model was made from, back to the seed")
    add_root_arg(parser)
    parser.add_argument("--version", help="pushed version (default: the latest)")
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    from pipeline.reports import lineage
    return lineage.main(os.path.abspath(args.root), args.version)
