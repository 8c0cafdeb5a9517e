"""The `arith-tfx` command: run the pipeline, generate samples, inspect data and models."""
import argparse
import math
import os
import sys
import time
import warnings
from typing import List, Optional

from modules import config as config_lib
from pipeline import beam_args
from pipeline.commands import errors
from pipeline.paths import Paths



def _add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="default",
                        help=f"named configuration: {', '.join(sorted(config_lib.PROFILES))} "
                             "(default: %(default)s)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override one config value, e.g. --set model.train_steps=500; "
                             "repeatable; `arith-tfx config` lists the keys")


def _at_least_one(text: str) -> int:
    number = int(text) if text.lstrip("-").isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return number


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


def _add_runner_args(parser: argparse.ArgumentParser) -> None:
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


def _default_cluster_dir() -> str:
    from cluster.config import default_state_dir
    return default_state_dir()


def _add_root_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=config_lib.default_root(),
                        help="folder for all outputs: data/, pipeline/, metadata.sqlite, "
                             "serving/ (default: $ARITH_TFX_ROOT or ./arith-tfx-root)")


def _cmd_run(args) -> int:
    overrides = list(args.overrides)
    if args.keep is not None:
        overrides.append(f"serving.keep_versions={args.keep}")
    config = config_lib.from_args(args.profile, overrides)  # fails fast, before imports
    pipeline_args = beam_args.for_runner(_runner_options(args)) + list(args.beam_arg)
    if args.runner == "flink":
        _check_engine(args.job_endpoint, args.worker_pool)
    try:
        paths = Paths.at(os.path.abspath(args.root), args.artifact_root)
    except ValueError as error:
        raise beam_args.RunnerError(str(error)) from error
    if args.runner == "dataflow" and not paths.artifacts.startswith("gs://"):
        raise beam_args.RunnerError(
            "--runner dataflow needs --artifact-root gs://...: Dataflow's workers read and "
            "write the spans and artifacts there")
    from pipeline.commands import run as run_command
    paths.record_artifact_root()
    return run_command.run(config, paths, args.profile, args.stage, pipeline_args,
                           enable_cache=not args.no_cache, verbose=args.verbose)


def _cmd_compile(args) -> int:
    config = config_lib.from_args(args.profile, args.overrides)  # fails fast, before imports
    if args.runner == "flink":
        raise beam_args.RunnerError("--runner flink cannot be compiled for Vertex: its job "
                                    "server and worker pool addresses are this machine's; use "
                                    "--runner dataflow, or direct (Beam inside each component)")
    pipeline_args = beam_args.for_runner(_runner_options(args)) + list(args.beam_arg)
    try:
        from pipeline import vertex
    except ImportError as error:
        raise beam_args.RunnerError(f"compiling for Vertex needs the KFP SDK ({error}): "
                                    "pip install --ignore-requires-python -c constraints.txt "
                                    "'.[vertex]'") from error
    written = vertex.compile_pipeline(config, pipeline_args, args.image, args.pipeline_root,
                                      args.output)
    print(f"wrote the Vertex AI pipeline spec to {written}")
    return 0


def _runner_options(args) -> beam_args.RunnerOptions:
    return beam_args.RunnerOptions(
        runner=args.runner, workers=args.workers, job_endpoint=args.job_endpoint,
        worker_pool=args.worker_pool, project=args.project, region=args.region,
        temp_location=args.temp_location, staging_location=args.staging_location)


def _check_engine(job_endpoint: str, worker_pool: str) -> None:
    """Refuse at once, before any component runs, when nothing listens at the engine."""
    from cluster import processes
    for option, address, what in (("job_endpoint", job_endpoint, "Beam job server"),
                                  ("worker_pool", worker_pool, "SDK worker pool")):
        if not processes.port_open(*beam_args.host_port(option, address)):
            raise beam_args.RunnerError(
                f"no {what} answers at {address} (--{option.replace('_', '-')}); start a "
                "local Flink cluster with "
                "`arith-tfx cluster up`, or give the address of yours")


def _cmd_cluster(args) -> int:
    from cluster import flink_cluster
    from cluster.config import ClusterConfig
    config = ClusterConfig(state_dir=os.path.abspath(args.state_dir),
                           task_managers=args.task_managers, slots_per_task_manager=args.slots,
                           sdk_workers=args.sdk_workers)
    if args.action == "up":
        flink_cluster.up(config)
    elif args.action == "down":
        flink_cluster.down(config)
    else:
        return 0 if flink_cluster.status(config.state_dir) else 1
    return 0


def _cmd_runs(args) -> int:
    from pipeline.reports import run_report
    return run_report.show_runs(os.path.abspath(args.root))


def _cmd_generate(args) -> int:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from components.sample_generator import span_writer
    from pipeline import beam_args

    generator = config_lib.GeneratorConfig(
        samples=args.samples, seed=args.seed, shards=args.shards, max_val=args.max_val,
        ops=tuple(args.ops.split(",")), draw=args.draw,
        op_weights=config_lib.parse_value("generator.op_weights", args.op_weights),
        span=args.span or span_writer.next_span(os.path.abspath(args.out)))
    config_lib.validate_generator(generator)
    options = PipelineOptions(beam_args.local_beam_args(args.workers))
    started = time.time()
    print(f"arith-tfx: generating {generator.samples} samples in {generator.shards} shards "
          f"with {args.workers or os.cpu_count()} workers ...", flush=True)
    manifest, reused = span_writer.write_span(generator, os.path.abspath(args.out),
                                              lambda: beam.Pipeline(options=options))
    elapsed = time.time() - started
    where = span_writer.span_dir(os.path.abspath(args.out), generator.span)
    if reused:
        print(f"arith-tfx: {where} already holds these samples; nothing written")
    else:
        print(f"arith-tfx: wrote {generator.samples} samples to {where} in {elapsed:.1f} s "
              f"({generator.samples / elapsed:,.0f} samples/s)")
    return 0


def _cmd_inspect(args) -> int:
    from pipeline.reports import inspection
    return inspection.main(os.path.abspath(args.root), args.html)


# Kept in step with pipeline/predict.py's exit codes (tests/predict_edges_test.py checks both).
PREDICT_EPILOG = """\
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


def _cmd_predict(args) -> int:
    from pipeline.serving import predict
    try:
        return predict.main(Paths.at(os.path.abspath(args.root)).serving_dir, args.expressions,
                            args.version)
    except predict.PredictionError as error:  # its exit code tells bad input from no model
        print(f"arith-tfx predict: error: {error}", file=sys.stderr)
        return error.exit_code


def _serving_dir(args) -> str:
    return os.path.abspath(args.model_dir) if getattr(args, "model_dir", None) else \
        Paths.at(os.path.abspath(args.root)).serving_dir


def _cmd_serve(args) -> int:
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


def _cmd_versions(args) -> int:
    from pipeline.serving import versions
    from pipeline.state import run_lock
    root = os.path.abspath(args.root)
    if args.keep is None:
        return versions.show(root, None)
    with run_lock.hold(root):  # removing versions must not race a run's push or its clean-up
        return versions.show(root, args.keep)


def _cmd_rollback(args) -> int:
    from pipeline.serving import versions
    from pipeline.state import run_lock
    root = os.path.abspath(args.root)
    with run_lock.hold(root):
        versions.rollback(root, args.to)
    return 0


def _cmd_doctor(args) -> int:
    from pipeline.commands import doctor
    return doctor.main(os.path.abspath(args.root))


def _cmd_lineage(args) -> int:
    from pipeline.reports import lineage
    return lineage.main(os.path.abspath(args.root), args.version)


def _cmd_config(args) -> int:
    config = config_lib.from_args(args.profile, args.overrides)
    for section in config_lib.SECTIONS:
        for key, value in vars(getattr(config, section)).items():
            print(f"{section}.{key} = {','.join(value) if isinstance(value, tuple) else value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arith-tfx", description="A TFX pipeline that teaches a small Transformer "
                                      "elementary symbolic arithmetic.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the pipeline (Beam steps: locally, on Flink or "
                                          "on Dataflow)")
    _add_root_arg(run)
    _add_config_args(run)
    run.add_argument("--stage", choices=("data", "train", "push"), default="push",
                     help="how far to run (default: %(default)s, the whole pipeline)")
    _add_runner_args(run)
    run.add_argument("--artifact-root", default="", metavar="URI",
                     help="data, artifacts and served models there instead of under --root "
                          "(which keeps the metadata store, lock and logs); dataflow: a gs:// "
                          "folder")
    run.add_argument("--keep", type=_at_least_one, metavar="N",
                     help="after a push, keep only the newest N versions in serving/ "
                          "(same as --set serving.keep_versions=N)")
    run.add_argument("--no-cache", action="store_true",
                     help="run every component again, even where an earlier run's outputs "
                          "could be reused")
    run.set_defaults(handler=_cmd_run)

    compile_parser = commands.add_parser(
        "compile", help="compile the pipeline for an orchestrator (Vertex AI Pipelines)")
    compile_parser.add_argument("--target", choices=("vertex",), required=True,
                                help="vertex: a KFP v2 pipeline spec (JSON) for Vertex AI "
                                     "Pipelines")
    compile_parser.add_argument("--image", required=True,
                                help="container image that runs every component, built from the "
                                     "Dockerfile at the repository root")
    compile_parser.add_argument("--pipeline-root", required=True, metavar="GS_URI",
                                help="where runs keep everything: data/, pipeline/ (TFX "
                                     "artifacts) and serving/ below it")
    compile_parser.add_argument("--output", default="pipeline.json", metavar="FILE",
                                help="the pipeline spec to write (default: %(default)s)")
    _add_config_args(compile_parser)
    _add_runner_args(compile_parser)
    compile_parser.set_defaults(handler=_cmd_compile)

    cluster = commands.add_parser(
        "cluster", help="start, show or stop a local Flink cluster for `run --runner flink`")
    cluster.add_argument("action", choices=("up", "status", "down"))
    cluster.add_argument("--state-dir", default=_default_cluster_dir(),
                         help="where the cluster keeps its configuration, logs and process "
                              "records (default: $ARITH_TFX_CLUSTER or %(default)s)")
    cluster.add_argument("--task-managers", type=_at_least_one, default=1,
                         help="Flink TaskManager processes (up; default: %(default)s)")
    cluster.add_argument("--slots", type=_at_least_one, default=1,
                         help="task slots per TaskManager (up; default: %(default)s)")
    cluster.add_argument("--sdk-workers", choices=("process", "thread"), default="process",
                         help="up: a Python process per SDK worker (default), or threads of one "
                              "process that imports TensorFlow once for all jobs (small data)")
    cluster.set_defaults(handler=_cmd_cluster)

    runs = commands.add_parser("runs", help="list past runs: when, what ran, what was pushed")
    _add_root_arg(runs)
    runs.set_defaults(handler=_cmd_runs)

    generate = commands.add_parser("generate", help="write a span of samples, outside TFX")
    defaults = config_lib.GeneratorConfig()
    generate.add_argument("--samples", type=int, default=defaults.samples)
    generate.add_argument("--seed", type=int, default=defaults.seed)
    generate.add_argument("--shards", type=int, default=defaults.shards)
    generate.add_argument("--max-val", type=int, default=defaults.max_val,
                          help="operands are uniform in [-max_val, max_val]")
    generate.add_argument("--ops", default=",".join(defaults.ops),
                          help="comma-separated subset of + - * (default: %(default)s)")
    generate.add_argument("--draw", choices=config_lib.DRAWS, default=defaults.draw,
                          help="operands uniform by value (default), or their digit count "
                               "uniform first")
    generate.add_argument("--op-weights", default="",
                          help="relative weight of each of --ops, comma-separated (default: "
                               "equally likely)")
    generate.add_argument("--span", type=int, default=defaults.span,
                          help="span number (default: the next one under OUT)")
    generate.add_argument("--out", required=True, help="data root; shards go to OUT/span-N/")
    generate.add_argument("--workers", type=int, default=0,
                          help="Beam worker processes (default: one per core)")
    generate.set_defaults(handler=_cmd_generate)

    inspect = commands.add_parser(
        "inspect", help="summarize the latest statistics, schema and anomalies")
    _add_root_arg(inspect)
    inspect.add_argument("--html", metavar="FILE", help="also write a self-contained report")
    inspect.set_defaults(handler=_cmd_inspect)

    predict = commands.add_parser(
        "predict", help="answer expressions such as x=3,y=-4:x*y with the pushed model",
        description="Answer expressions such as x=3,y=-4:x*y with the pushed model.",
        epilog=PREDICT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_root_arg(predict)
    predict.add_argument("expressions", nargs="*", metavar="EXPRESSION",
                         help="defs:op, e.g. x=3,y=-4:x*y, or defs:op:res to check the answer "
                              "(default: one per line on stdin)")
    predict.add_argument("--version", help="pushed version to use (default: the latest)")
    predict.set_defaults(handler=_cmd_predict)

    serve = commands.add_parser(
        "serve", help="serve the pushed models over TF Serving's REST API")
    _add_root_arg(serve)
    serve.add_argument("--model-dir", help="a serving directory (<version>/saved_model.pb) "
                                           "instead of ROOT/serving")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default: %(default)s, this machine only)")
    serve.add_argument("--port", type=int, default=8501,
                       help="port (default: %(default)s, TF Serving's REST port; 0 picks one)")
    serve.add_argument("--model-name", default="arith",
                       help="the name in /v1/models/NAME (default: %(default)s)")
    serve.add_argument("--poll-seconds", type=_finite_at_least(0, above=True), default=1.0,
                       help="how often to look for a newly pushed version (default: %(default)s)")
    serve.add_argument("--max-batch", type=_at_least_one, default=256,
                       help="most examples answered in one model call (default: %(default)s)")
    serve.add_argument("--batch-wait-ms", type=_finite_at_least(0), default=0.0,
                       help="wait this long for more requests before a call (default: "
                            "%(default)s: batch only what queued up during the last call)")
    serve.add_argument("--verbose", action="store_true",
                       help="log every request, and show the messages of TensorFlow, absl and Beam")
    serve.set_defaults(handler=_cmd_serve)

    show_versions = commands.add_parser(
        "versions", help="list the pushed versions: when, how good, which span and seed")
    _add_root_arg(show_versions)
    show_versions.add_argument("--keep", type=_at_least_one, metavar="N",
                               help="first remove the oldest versions beyond the newest N")
    show_versions.set_defaults(handler=_cmd_versions)

    rollback = commands.add_parser(
        "rollback", help="serve an earlier version again (published as the newest version)")
    _add_root_arg(rollback)
    rollback.add_argument("--to", type=int, metavar="VERSION",
                          help="the version to serve (default: the one before the served one)")
    rollback.set_defaults(handler=_cmd_rollback)

    doctor = commands.add_parser("doctor", help="check that this machine can run the pipeline")
    _add_root_arg(doctor)
    doctor.set_defaults(handler=_cmd_doctor)

    lineage = commands.add_parser(
        "lineage", help="show what a pushed model was made from, back to the seed")
    _add_root_arg(lineage)
    lineage.add_argument("--version", help="pushed version (default: the latest)")
    lineage.set_defaults(handler=_cmd_lineage)

    show_config = commands.add_parser("config", help="print the resolved configuration")
    _add_config_args(show_config)
    show_config.set_defaults(handler=_cmd_config)
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
