"""The `arith-tfx` command: its parser, built from the modules of its subcommands beside this one,
and the dispatch to the one asked for; a user's error is one line, without a traceback."""
import argparse
import os
import sys
import warnings
from typing import List, Optional

from pipeline.commands import (  # pylint: disable=redefined-builtin
    cluster, compile, config, doctor, errors, generate, inspect, lineage, predict, rollback, run,
    runs, serve, versions)

# In the order `arith-tfx --help` lists them.
SUBCOMMANDS = (run, compile, cluster, runs, generate, inspect, predict, serve, versions, rollback,
               doctor, lineage, config)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arith-tfx", description="A TFX pipeline that teaches a small Transformer "
                                      "elementary symbolic arithmetic.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for subcommand in SUBCOMMANDS:
        subcommand.add(commands)
    for name, command in commands.choices.items():
        if name != "serve":  # serve has its own, which also logs every request
            command.add_argument("--verbose", action="store_true",
                                 help="also show the messages of TensorFlow, absl and Beam")
    return parser


def _quiet_libraries(command: str) -> None:
    """TF's C++ start-up lines, the warnings of absl, TensorFlow and Beam (and of Beam's worker
    processes, which Beam relays through its own loggers) and Google client deprecation notices
    say nothing to a user (--verbose shows them). Set through the environment too, so that
    Beam's worker processes inherit it. `run` keeps the library lines: they go to the run's log
    file."""
    import logging
    if command != "run":
        for name in ("", "absl", "tensorflow", "apache_beam"):
            logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning,ignore::DeprecationWarning")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.verbose:
        _quiet_libraries(args.command)
    try:
        return args.handler(args)
    except BrokenPipeError:  # e.g. `arith-tfx lineage | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # pylint: disable=broad-except
        known = errors.user_error(error)
        if known is None:
            raise
        print(f"arith-tfx {args.command}: error: {known}", file=sys.stderr)
        return 2 if type(known).__name__ in errors.USAGE_ERRORS else 1


if __name__ == "__main__":
    sys.exit(main())
