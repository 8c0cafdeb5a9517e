"""`arith-tfx serve`: the pushed models over TF Serving's REST API (pipeline/serving/)."""
import argparse
import math
import os
import sys

from pipeline.commands.arguments import add_root_arg, at_least_one
from pipeline.paths import Paths


def _finite_at_least(minimum: float, above: bool = False):
    """An argparse type: a finite number >= minimum (> minimum if `above`)."""
    def parse(text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number < minimum or (above and number == minimum):
            raise argparse.ArgumentTypeError(
                f"must be a finite number {'above' if above else 'of at least'} {minimum:g}, "
                f"got {text!r}")
        return number
    return parse


def add(commands) -> None:
    parser = commands.add_parser(
        "serve", help="serve the pushed models over TF Serving's REST API")
    add_root_arg(parser)
    parser.add_argument("--model-dir", help="a serving directory (<version>/saved_model.pb) "
                                            "instead of ROOT/serving")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default: %(default)s, this machine only)")
    parser.add_argument("--port", type=int, default=8501,
                        help="port (default: %(default)s, TF Serving's REST port; 0 picks one)")
    parser.add_argument("--model-name", default="arith",
                        help="the name in /v1/models/NAME (default: %(default)s)")
    parser.add_argument("--poll-seconds", type=_finite_at_least(0, above=True), default=1.0,
                        help="how often to look for a newly pushed version (default: "
                             "%(default)s)")
    parser.add_argument("--max-batch", type=at_least_one, default=256,
                        help="most examples answered in one model call (default: %(default)s)")
    parser.add_argument("--batch-wait-ms", type=_finite_at_least(0), default=0.0,
                        help="wait this long for more requests before a call (default: "
                             "%(default)s: batch only what queued up during the last call)")
    parser.add_argument("--verbose", action="store_true",
                        help="log every request, and show the messages of TensorFlow, absl and "
                             "Beam")
    parser.set_defaults(handler=handle)


def _serving_dir(args) -> str:
    return os.path.abspath(args.model_dir) if getattr(args, "model_dir", None) else \
        Paths.at(os.path.abspath(args.root)).serving_dir


def handle(args) -> int:
    import logging
    from pipeline.serving import server
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("arith-tfx serve: %(message)s"))
    log = logging.getLogger("arith-tfx")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    log.propagate = False
    return server.serve(_serving_dir(args), args.host, args.port, args.model_name,
                        args.poll_seconds, args.batch_wait_ms, args.max_batch)
