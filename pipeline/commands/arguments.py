"""Arguments that several commands take: the root, the configuration, the runner, a count."""
import argparse

from modules import config as config_lib
from pipeline import beam_args


def add_root_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=config_lib.default_root(),
                        help="folder for all outputs: data/, pipeline/, metadata.sqlite, "
                             "serving/ (default: $ARITH_TFX_ROOT or ./arith-tfx-root)")


def add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="default",
                        help=f"named configuration: {', '.join(sorted(config_lib.PROFILES))} "
                             "(default: %(default)s)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override one config value, e.g. --set model.train_steps=500; "
                             "repeatable; `arith-tfx config` lists the keys")


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    defaults = beam_args.RunnerOptions()
    runner = parser.add_argument_group("runner", "where the Beam steps run")
    runner.add_argument("--runner", choices=beam_args.RUNNERS, default=defaults.runner,
                        help="direct: Beam's DirectRunner on this machine (default); flink: a "
                             "Flink cluster through Beam's job server (`arith-tfx cluster up`); "
                             "dataflow: Google Cloud Dataflow")
    runner.add_argument("--workers", type=int, default=defaults.workers,
                        help="direct: worker processes (default: one per core)")
    runner.add_argument("--job-endpoint", default=defaults.job_endpoint, metavar="HOST:PORT",
                        help="flink: Beam's job server (default: %(default)s)")
    runner.add_argument("--worker-pool", default=defaults.worker_pool, metavar="HOST:PORT",
                        help="flink: the Python SDK worker pool (default: %(default)s)")
    runner.add_argument("--project", default="", help="dataflow: Google Cloud project")
    runner.add_argument("--region", default="", help="dataflow: region, e.g. europe-west4")
    runner.add_argument("--temp-location", default="", metavar="GS_URI",
                        help="dataflow: gs:// folder for temporary files")
    runner.add_argument("--staging-location", default="", metavar="GS_URI",
                        help="dataflow: gs:// folder for staged packages")
    runner.add_argument("--beam-arg", action="append", default=[], metavar="ARG",
                        help="extra Beam pipeline argument, repeatable")


def runner_options(args) -> beam_args.RunnerOptions:
    return beam_args.RunnerOptions(
        runner=args.runner, workers=args.workers, job_endpoint=args.job_endpoint,
        worker_pool=args.worker_pool, project=args.project, region=args.region,
        temp_location=args.temp_location, staging_location=args.staging_location)


def at_least_one(text: str) -> int:
    number = int(text) if text.lstrip("-").isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return number
