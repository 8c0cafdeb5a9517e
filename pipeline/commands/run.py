"""`arith-tfx run`: one run per root (under its lock), clean-up after an interrupted run, a line
per component, the run report; TensorFlow, absl and Beam write to the run's log file unless
--verbose."""
import dataclasses
import datetime
import logging
import os
import sys
from typing import List, TextIO

from components.sample_generator import parameters
from modules import config as config_lib, progress
from pipeline import beam_args
from pipeline.commands import errors
from pipeline.commands.arguments import (
    add_config_args, add_root_arg, add_runner_args, at_least_one, runner_options)
from pipeline.paths import Paths
from pipeline.state import run_lock

LOGS = "logs"


class Console:
    """The user's terminal. Unless verbose, file descriptors 1 and 2 (this process's and those
    of every Beam worker it starts) go to the log file from here on, so that only the lines of
    the `arith_tfx` logger and of `print_line` reach the terminal. They stay there after a run
    that ends normally (TensorFlow prints tracebacks while the interpreter shuts down); they come
    back to the terminal when an exception leaves the `with` block, so that it is seen."""

    def __init__(self, log_path: str):
        """`log_path` "" (verbose): everything stays on the terminal."""
        self.log_path = log_path
        self._saved = []
        sys.stdout.flush()
        sys.stderr.flush()
        if not log_path:
            self.stream: TextIO = sys.stdout
        else:
            self._saved = [os.dup(sys.stdout.fileno()), os.dup(sys.stderr.fileno())]
            self.stream = os.fdopen(os.dup(self._saved[0]), "w", buffering=1)
            log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(log, sys.stdout.fileno())
            os.dup2(log, sys.stderr.fileno())
            os.close(log)
        root = logging.getLogger()
        root.handlers = [logging.StreamHandler(sys.stderr)]
        root.setLevel(logging.INFO)
        handler = logging.StreamHandler(self.stream)
        handler.setFormatter(logging.Formatter("  %(asctime)s %(message)s", "%H:%M:%S"))
        lines = logging.getLogger(progress.LOGGER)
        lines.handlers = [handler]
        lines.setLevel(logging.INFO)
        lines.propagate = bool(log_path)  # into the log file too, when there is one

    def __enter__(self) -> "Console":
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is not None and self._saved:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(self._saved[0], sys.stdout.fileno())
            os.dup2(self._saved[1], sys.stderr.fileno())

    def print_line(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
        if self.stream is not sys.stdout:
            print(text, flush=True)  # the log file keeps the same story


def _on_end(result) -> None:
    if result.node.endswith("_resolver"):
        return
    words = {"ran": "finished in", "cached": "cached, reused an earlier execution,",
             "skipped": "skipped after", "failed": "FAILED after"}
    progress.report("%s %s %.1f s", result.node, words[result.state], result.seconds)


def _on_start(node: str) -> None:
    if not node.endswith("_resolver"):
        progress.report("%s started", node)


def _generator_key(config: config_lib.PipelineConfig) -> dict:
    return parameters.manifest_record(dataclasses.replace(config.generator, span=0))


def _span_to_resume(lock: run_lock.Lock, config: config_lib.PipelineConfig) -> int:
    """The span of the interrupted run this run takes over, when this run would otherwise pick a
    new span (generator.span 0) with the same generator settings; 0 otherwise. A run recorded
    before a generator field existed drew as that field's default does, and is taken over."""
    left = lock.left or {}
    if config.generator.span or parameters.completed_record(
            left.get("generator") or {}) != _generator_key(config):
        return 0
    return int(left.get("span") or 0)


def run(config: config_lib.PipelineConfig, paths: Paths, profile: str, stage: str,
        pipeline_args: List[str], enable_cache: bool, verbose: bool) -> int:
    with run_lock.hold(paths.root) as lock:
        run_id = datetime.datetime.now().isoformat()  # the form of LocalDagRunner's run ids
        os.makedirs(os.path.join(paths.root, LOGS), exist_ok=True)
        with Console("" if verbose else os.path.join(
                paths.root, LOGS, f"run-{run_id.replace(':', '')}.log")) as console:
            from pipeline import factory, local_runner  # TensorFlow
            from pipeline.reports import run_report
            from pipeline.state import recovery
            resumed_span = _span_to_resume(lock, config)
            if resumed_span:
                config = dataclasses.replace(config, generator=dataclasses.replace(
                    config.generator, span=resumed_span))
            config = factory.with_span(config, paths)
            lock.add(span=config.generator.span, generator=_generator_key(config), run_id=run_id)
            console.print_line(
                f"arith-tfx: run {run_id} (profile {profile}, stage {stage}, span "
                f"{config.generator.span}{', cache off' if not enable_cache else ''}) under "
                f"{paths.root}")
            notes = [lock.note] if lock.note else []
            if resumed_span:
                notes.append(f"span {resumed_span} is the interrupted run's: continuing it")
            for note in notes + recovery.recover(paths):
                console.print_line(f"arith-tfx: {note}")
            results = []

            def on_end(result) -> None:
                results.append(result)
                _on_end(result)

            error = ""
            try:
                local_runner.run(config, paths, stage=stage, pipeline_args=pipeline_args,
                                 enable_cache=enable_cache, run_id=run_id, on_start=_on_start,
                                 on_end=on_end)
            except (Exception, KeyboardInterrupt) as failure:  # pylint: disable=broad-except
                logging.exception("the run failed")
                failed = next((r.node for r in results if r.state == "failed"), "the pipeline")
                error = (f"interrupted (Ctrl-C) in {failed}" if isinstance(
                    failure, KeyboardInterrupt) else
                         f"{failed} failed: {errors.first_cause(failure)}")
            report = run_report.build(paths.root, run_id, results, config, console.log_path,
                                      error)
            path = run_report.save(report)
            console.print_line(run_report.table(report))
            console.print_line(f"arith-tfx: report {path}" +
                               (f"; full log {console.log_path}" if not verbose else ""))
            if error:
                return 130 if error.startswith("interrupted") else 1
            console.print_line(f"arith-tfx: see `arith-tfx inspect --root {paths.root}` and "
                               f"`arith-tfx runs --root {paths.root}`")
            return 0


def add(commands) -> None:
    parser = commands.add_parser("run", help="run the pipeline (Beam steps: locally, on Flink or "
                                             "on Dataflow)")
    add_root_arg(parser)
    add_config_args(parser)
    parser.add_argument("--stage", choices=("data", "train", "push"), default="push",
                        help="how far to run (default: %(default)s, the whole pipeline)")
    add_runner_args(parser)
    parser.add_argument("--artifact-root", default="", metavar="URI",
                        help="data, artifacts and served models there instead of under --root "
                             "(which keeps the metadata store, lock and logs); dataflow: a "
                             "gs:// folder")
    parser.add_argument("--keep", type=at_least_one, metavar="N",
                        help="after a push, keep only the newest N versions in serving/ "
                             "(same as --set serving.keep_versions=N)")
    parser.add_argument("--no-cache", action="store_true",
                        help="run every component again, even where an earlier run's outputs "
                             "could be reused")
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    overrides = list(args.overrides)
    if args.keep is not None:
        overrides.append(f"serving.keep_versions={args.keep}")
    config = config_lib.from_args(args.profile, overrides)  # fails fast, before imports
    pipeline_args = beam_args.for_runner(runner_options(args)) + list(args.beam_arg)
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
    if config.model.require_warm_start and args.stage != "data":
        _check_served_model(paths, config.model)
    paths.record_artifact_root()
    return run(config, paths, args.profile, args.stage, pipeline_args,
               enable_cache=not args.no_cache, verbose=args.verbose)


def _check_served_model(paths: Paths, model: config_lib.ModelConfig) -> None:
    """Refuse at once, before anything is written under the root, a continuation of nothing:
    no model served, or one of other dimensions. The Trainer checks again against the model it
    starts from (WarmStartError)."""
    from components.atomic_pusher import serving_dir  # TensorFlow
    from modules import export
    available = serving_dir.versions(paths.serving_dir)
    reason = export.cannot_start_from(
        os.path.join(paths.serving_dir, str(available[-1])), model) if available else \
        f"{paths.serving_dir} holds none yet"
    if reason:
        raise config_lib.ConfigError(config_lib.warm_start_refusal(reason))


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
