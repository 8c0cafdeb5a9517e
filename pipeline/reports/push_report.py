"""After a run: was the model pushed, and if not, which gate stopped it and why."""
import json
import os
from typing import List

from components.atomic_pusher.properties import NOT_PUSHED_REASON
from modules.trainer import START_REPORT
from pipeline.paths import Paths
from pipeline.reports import quality
from pipeline.state.metadata import Store, value

SERVING_CHECK_REPORT = "report.json"


def _slice_name(slice_key) -> str:
    parts = [f"{s.column}={getattr(s, s.WhichOneof('kind'))}" for s in slice_key.single_slice_keys]
    return ", ".join(parts) or "overall"


def evaluator_reasons(evaluation_uri: str) -> List[str]:
    """Failed thresholds from TFMA's validation result, one line each."""
    import tensorflow_model_analysis as tfma
    result = tfma.load_validation_result(evaluation_uri)
    reasons = []
    for per_slice in result.metric_validations_per_slice:
        for failure in per_slice.failures:
            metric = failure.metric_key.name + (" change vs. the last pushed model"
                                                if failure.metric_key.is_diff else "")
            measured = failure.metric_value.double_value.value
            reasons.append(f"Evaluator: {metric} = {measured:.4f} on slice "
                           f"{_slice_name(per_slice.slice_key)} fails "
                           f"{_threshold(failure.metric_threshold, failure.metric_key.is_diff)}")
    return reasons or ([] if result.validation_ok else ["Evaluator: validation failed"])


def _threshold(threshold, is_diff: bool) -> str:
    """The bound a failed metric broke: its change bound for a change, else its value bounds."""
    if is_diff and threshold.HasField("change_threshold"):
        return f"the allowed change {threshold.change_threshold.absolute.value:+.4f}"
    if threshold.HasField("value_threshold"):
        bound = threshold.value_threshold
        parts = []
        if bound.HasField("lower_bound"):
            parts.append(f"the floor >= {bound.lower_bound.value:.4f}")
        if bound.HasField("upper_bound"):
            parts.append(f"the ceiling <= {bound.upper_bound.value:.4f}")
        return " and ".join(parts)
    return str(threshold).replace("\n", " ")


def serving_check_reasons(blessing_uri: str) -> List[str]:
    path = os.path.join(blessing_uri, SERVING_CHECK_REPORT)
    if not os.path.exists(path):
        return ["ServingCheck: not blessed (no report)"]
    with open(path) as f:
        report = json.load(f)
    failed = report.get("failures") or ["not blessed"]
    return [f"ServingCheck: {failure}" for failure in failed]


def training_start(store: Store, model) -> str:
    """How the Trainer began the model: warm-started, or from scratch and why."""
    runs = store.outputs(store.producer(model)).get("model_run", [])
    path = os.path.join(runs[0].uri, START_REPORT) if runs else ""
    if not path or not os.path.exists(path):
        return ""
    with open(path) as f:
        return json.load(f)["start"]


def explain(root: str) -> str:
    """What the newest Pusher execution decided, and why."""
    store = Store(Paths(root).metadata_path)
    pushes = store.artifacts("PushedModel")
    if not pushes:
        return "no push recorded"
    return explain_push(store, pushes[0])


def reasons_not_pushed(store: Store, push) -> List[str]:
    """Why a PushedModel was not pushed: the Pusher's own reason, or the refusing gates'."""
    if value(push, NOT_PUSHED_REASON):
        return [f"Pusher: {value(push, NOT_PUSHED_REASON)}"]
    inputs = store.inputs(store.producer(push))
    reasons = []
    for blessing in inputs.get("model_blessing", []):
        if value(blessing, "blessed") != 1:
            evaluation = store.outputs(store.producer(blessing))["evaluation"][0]
            reasons += evaluator_reasons(evaluation.uri)
    for blessing in inputs.get("infra_blessing", []):
        if value(blessing, "blessed") != 1:
            reasons += serving_check_reasons(blessing.uri)
    return reasons or ["no blessing"]


def explain_push(store: Store, latest) -> str:
    """One PushedModel: pushed where, or why not; how the model was trained and how good it is."""
    inputs = store.inputs(store.producer(latest))
    starts = [training_start(store, model) for model in inputs.get("model", [])]
    start = "".join(f"\n  the model was {line}" for line in starts if line)
    for blessing in inputs.get("model_blessing", []):
        evaluation = store.outputs(store.producer(blessing))["evaluation"][0]
        start += (f"\n  exact match on the held-out split: "
                  f"{quality.describe(quality.exact_match(evaluation.uri))}")
    if value(latest, "pushed") == 1:
        return (f"model pushed as version {value(latest, 'pushed_version')} to "
                f"{value(latest, 'pushed_destination')}{start}")
    return ("model NOT pushed:\n  " + "\n  ".join(reasons_not_pushed(store, latest))
            + start)
