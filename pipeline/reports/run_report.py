"""The run report: per component ran or cached and its seconds, examples per split, exact match
per operation against the floor and the served model, and whether the model was pushed and why.
Printed at the end of `arith-tfx run` and written as JSON to `<root>/runs/<run id>.json`;
`arith-tfx runs` lists past runs from the metadata store."""
import datetime
import glob
import json
import os
from typing import Dict, List, Optional

from ml_metadata.proto import metadata_store_pb2

from components.atomic_pusher.properties import NOT_PUSHED_REASON, PUSHED, PUSHED_VERSION
from modules import features
from modules.config import PipelineConfig
from pipeline.paths import Paths
from pipeline.state import run_lock
from pipeline.state.metadata import Store, value

RUNS = "runs"
_RUN_CONTEXT = "pipeline_run"
_STATES = metadata_store_pb2.Execution.State


def report_path(root: str, run_id: str) -> str:
    return os.path.join(Paths(root).root, RUNS, run_id.replace(":", "") + ".json")


def _execution(store: Store, execution_id: int):
    found = store.mlmd.get_executions_by_id([execution_id]) if execution_id else []
    return found[0] if found else None


def _output(store: Store, execution, key: str):
    found = store.outputs(execution).get(key, []) if execution is not None else []
    return found[0] if found else None


def examples_per_split(statistics_uri: str) -> Dict[str, int]:
    from tensorflow_metadata.proto.v0 import statistics_pb2
    counts = {}
    for path in sorted(glob.glob(os.path.join(statistics_uri, "Split-*", "FeatureStats.pb"))):
        stats = statistics_pb2.DatasetFeatureStatisticsList()
        with open(path, "rb") as f:
            stats.ParseFromString(f.read())
        split = os.path.basename(os.path.dirname(path))[len("Split-"):]
        counts[split] = sum(int(dataset.num_examples) for dataset in stats.datasets)
    order = ("train", "eval", "test")
    return dict(sorted(counts.items(), key=lambda item: (
        order.index(item[0]) if item[0] in order else len(order), item[0])))


def build(root: str, run_id: str, results: List, config: PipelineConfig, log_path: str,
          error: str = "") -> dict:
    """The report of one run, from the runner's results and the metadata store."""
    report = {
        "run_id": run_id, "root": root, "log": log_path, "span": config.generator.span,
        "seconds": round(sum(result.seconds for result in results), 1),
        "components": [{"component": result.node, "state": result.state,
                        "seconds": round(result.seconds, 1)} for result in results],
        "error": error,
    }
    if not os.path.exists(Paths(root).metadata_path):
        return report
    from pipeline.reports import push_report, quality  # import TensorFlow; `runs` needs neither
    store = Store(Paths(root).metadata_path)
    executions = {result.node: _execution(store, result.execution_id) for result in results}
    statistics = _output(store, executions.get("StatisticsGen"), "statistics")
    if statistics is not None:
        report["examples"] = examples_per_split(statistics.uri)
    evaluation = _output(store, executions.get("Evaluator"), "evaluation")
    if evaluation is not None:
        report["exact_match"] = {
            "model": quality.exact_match(evaluation.uri),
            "served_model": quality.exact_match(evaluation.uri, model="baseline"),
            "floor": config.eval.min_exact_match,
            "max_drop": config.eval.max_exact_match_drop}
        report["loss"] = {
            "model": quality.measured(evaluation.uri, "loss").get(quality.OVERALL),
            "ceiling": config.eval.max_loss}
        report["exact_match_by_digits"] = quality.by_digits(evaluation.uri)
    push = _output(store, executions.get("Pusher"), "pushed_model")
    if push is not None:
        reused = any(r.node == "Pusher" and r.state == "cached" for r in results)
        pushed = value(push, PUSHED) == 1
        why = [] if pushed else push_report.reasons_not_pushed(store, push)
        if reused:
            why.insert(0, "an earlier run with the same code, configuration and inputs " + (
                f"pushed it as version {value(push, PUSHED_VERSION)}" if pushed
                else "decided so"))
        report["push"] = {
            "pushed": pushed and not reused,
            "version": str(value(push, PUSHED_VERSION, "")) if not reused else "",
            "destination": value(push, "pushed_destination", "") if not reused else "",
            # The model is served already: the Pusher found it so, or pushed it in the run
            # whose decision this one reuses.
            "already_served": bool(value(push, NOT_PUSHED_REASON)) or (pushed and reused),
            "why": why}
    return report


def _decision(push) -> str:
    """What one Pusher execution decided, in a few words."""
    if value(push, PUSHED) == 1:
        return f"pushed version {value(push, PUSHED_VERSION)}"
    if value(push, NOT_PUSHED_REASON):
        return f"nothing new to push ({value(push, NOT_PUSHED_REASON)})"
    return "not pushed (not blessed)"


def outcome(report: dict) -> str:
    if report.get("error"):
        return f"FAILED: {report['error']}"
    push = report.get("push")
    if push is None:
        return "finished (no push stage)"
    if push["pushed"]:
        return f"pushed version {push['version']} to {push['destination']}"
    if push["already_served"]:
        return "nothing new to push: " + "; ".join(push["why"])
    return "NOT pushed: " + "; ".join(push["why"])


def _percent(shares: Dict[str, float], key: str) -> str:
    return f"{shares[key]:6.1%}" if key in shares else "     -"


def table(report: dict) -> str:
    from pipeline.reports import quality
    lines = [f"run {report['run_id']} (span {report['span']}): {outcome(report)}",
             f"  {'component':<30} {'':<7} {'seconds':>8}"]
    for row in report["components"]:
        if row["component"].endswith("_resolver"):
            continue
        lines.append(f"  {row['component']:<30} {row['state']:<7} {row['seconds']:8.1f}")
    if report.get("examples"):
        lines.append("  examples: " + ", ".join(f"{split} {count:,}"
                                               for split, count in report["examples"].items()))
    shares = report.get("exact_match")
    if shares:
        keys = (quality.OVERALL,) + features.OPERATORS
        lines.append(f"  {'exact match':<16}" + "".join(f"{key:>7}" for key in keys))
        lines.append(f"  {'  this model':<16}" +
                     "".join(" " + _percent(shares["model"], key) for key in keys))
        if shares["served_model"]:
            lines.append(f"  {'  served model':<16}" +
                         "".join(" " + _percent(shares["served_model"], key) for key in keys))
        lines.append(f"  {'  floor':<16} {shares['floor']:6.1%}  (and at most "
                     f"{shares['max_drop']:.1%} below the served model)")
    loss = report.get("loss")
    if loss and loss["model"] is not None:
        lines.append(f"  loss per token   {loss['model']:.3f}  (ceiling {loss['ceiling']:g})")
    if report.get("exact_match_by_digits"):
        lines.append("  exact match by digits of the longer operand")
        lines.extend("  " + line
                     for line in quality.digit_table({"": report["exact_match_by_digits"]}))
    return "\n".join(lines)


def save(report: dict) -> str:
    path = report_path(report["root"], report["run_id"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    os.replace(path + ".tmp", path)
    return path


def _node(store: Store, execution) -> str:
    return store.execution_type(execution).rsplit(".", 1)[-1]


def past_runs(root: str) -> List[dict]:
    """Every run recorded in the metadata store, oldest first: start, states, outcome."""
    store = Store(Paths(root).metadata_path)
    runs = []
    running = run_lock.holder(root)
    contexts = sorted(store.mlmd.get_contexts_by_type(_RUN_CONTEXT),
                      key=lambda context: context.create_time_since_epoch)
    for context in contexts:
        executions = sorted(store.mlmd.get_executions_by_context(context.id), key=lambda e: e.id)
        states = {}
        executions = [e for e in executions if not _node(store, e).endswith("Resolver")]
        for execution in executions:
            name = _STATES.Name(execution.last_known_state).lower()
            states.setdefault(name, []).append(_node(store, execution))
        pushed: Optional[str] = None
        for execution in executions:
            if _node(store, execution) != "Pusher":
                continue
            if execution.last_known_state in (metadata_store_pb2.Execution.CACHED,
                                              metadata_store_pb2.Execution.COMPLETE):
                push = _output(store, execution, "pushed_model")
                pushed = _decision(push) if push is not None else "not pushed"
                if execution.last_known_state == metadata_store_pb2.Execution.CACHED:
                    pushed = f"nothing new: an earlier run's decision stands: {pushed}"
        started = min((e.create_time_since_epoch for e in executions),
                      default=context.create_time_since_epoch) / 1000
        ended = max((e.last_update_time_since_epoch for e in executions),
                    default=context.create_time_since_epoch) / 1000
        report = report_path(root, context.name)
        runs.append({"run_id": context.name,
                     "started": datetime.datetime.fromtimestamp(started).isoformat(
                         sep=" ", timespec="seconds"),
                     "seconds": round(ended - started), "states": states,
                     "outcome": ("running now (pid {})".format(running.get("pid", "?"))
                                 if running is not None and running.get("run_id") == context.name
                                 else _run_outcome(states, pushed)),
                     "report": report if os.path.exists(report) else ""})
    return runs


def _run_outcome(states: Dict[str, List[str]], pushed: Optional[str]) -> str:
    if states.get("failed"):
        return f"failed in {states['failed'][0]}"
    if states.get("canceled") or states.get("running"):
        stopped = (states.get("canceled") or states["running"])[0]
        return f"interrupted in {stopped}"
    return pushed or "no push"


def show_runs(root: str) -> int:
    runs = past_runs(root)
    if not runs:
        print(f"no runs recorded under {root}")
        return 0
    print(f"{'run id':<27} {'seconds':>7} {'ran':>4} {'cached':>6}  outcome")
    for run in runs:
        ran, cached = (len(run["states"].get(state, [])) for state in ("complete", "cached"))
        print(f"{run['run_id']:<27} {run['seconds']:>7} {ran:>4} {cached:>6}  {run['outcome']}")
    print(f"reports: {os.path.join(root, RUNS)}/<run id>.json")
    return 0
