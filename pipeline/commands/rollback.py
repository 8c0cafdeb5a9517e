"""`arith-tfx rollback`: an earlier version served again (pipeline/serving/versions.py)."""
import os

from pipeline.commands.arguments import add_root_arg


def add(commands) -> None:
    parser = commands.add_parser(
        "rollback", help="serve an earlier version again (published as the newest version)")
    add_root_arg(parser)
    parser.add_argument("--to", type=int, metavar="VERSION",
                        help="the version to serve (default: the one before the served one)")
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    from pipeline.serving import versions
    from pipeline.state import run_lock
    root = os.path.abspath(args.root)
    with run_lock.hold(root):
        versions.rollback(root, args.to)
    return 0
