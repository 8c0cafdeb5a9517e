"""`arith-tfx predict`: expressions answered by a pushed model (pipeline/serving/predict.py)."""
import argparse
import os
import sys

from pipeline.commands.arguments import add_root_arg
from pipeline.paths import Paths

# Kept in step with pipeline/serving/predict.py's exit codes (tests/predict_edges_test.py checks
# both).
EPILOG = """\
Each EXPRESSION argument is one expression, an empty one included (it gets an
error). Without arguments, one expression per line on stdin; blank lines there
are skipped. Each expression gets one line on stdout, in order: its answer (for
defs:op:res also correct or wrong) or its error; stderr names the model version.

exit codes:
  0  every expression was answered with an integer (right or wrong)
  1  bad input: some expression (its line says why; the others are answered,
     and may lack an integer), or a --version that names no pushed version
  2  usage error (argparse's): an unknown option, a missing value
  3  no bad input, but the model gave no integer for some expression
  4  no pushed model to answer with: run `arith-tfx run` first
"""


def add(commands) -> None:
    parser = commands.add_parser(
        "predict", help="answer expressions such as x=3,y=-4:x*y with the pushed model",
        description="Answer expressions such as x=3,y=-4:x*y with the pushed model.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_root_arg(parser)
    parser.add_argument("expressions", nargs="*", metavar="EXPRESSION",
                        help="defs:op, e.g. x=3,y=-4:x*y, or defs:op:res to check the answer "
                             "(default: one per line on stdin)")
    parser.add_argument("--version", help="pushed version to use (default: the latest)")
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    from pipeline.serving import predict
    try:
        return predict.main(Paths.at(os.path.abspath(args.root)).serving_dir, args.expressions,
                            args.version)
    except predict.PredictionError as error:  # its exit code tells bad input from no model
        print(f"arith-tfx predict: error: {error}", file=sys.stderr)
        return error.exit_code
