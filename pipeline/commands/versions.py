"""`arith-tfx versions`: the pushed versions (pipeline/serving/versions.py), and retention."""
import os

from pipeline.commands.arguments import add_root_arg, at_least_one


def add(commands) -> None:
    parser = commands.add_parser(
        "versions", help="list the pushed versions: when, how good, which span and seed")
    add_root_arg(parser)
    parser.add_argument("--keep", type=at_least_one, metavar="N",
                        help="first remove the oldest versions beyond the newest N")
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    from pipeline.serving import versions
    from pipeline.state import run_lock
    root = os.path.abspath(args.root)
    if args.keep is None:
        return versions.show(root, None)
    with run_lock.hold(root):  # removing versions must not race a run's push or its clean-up
        return versions.show(root, args.keep)
