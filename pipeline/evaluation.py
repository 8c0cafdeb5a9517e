"""The TFMA configuration of the Evaluator: metrics, slices and the blessing thresholds.

The model is evaluated through its `evaluate` signature (modules/export.py): it takes the
serialized labeled tf.Examples and returns per-example scores, so TFMA needs no label key,
no preprocessing function and no module file; the metrics of modules/metrics.py average
those scores. Slices are read by TFMA from the raw examples' int features.

Give the result to `tfx.components.Evaluator(examples=..., model=...,
baseline_model=<LatestPushedModelStrategy resolver>, eval_config=eval_config(...),
example_splits=[<held-out split>])`. On the first run there is no pushed model: the
Evaluator then drops the change thresholds (it always rubber-stamps) and only the value
thresholds decide.
"""
import tensorflow_model_analysis as tfma

from modules import export, features, metrics
from modules.config import EvalConfig

METRICS_MODULE = metrics.__name__  # "modules.metrics"
SLICE_FEATURES = (features.OPERATION, features.X_DIGITS, features.Y_DIGITS)


def _overall(threshold: tfma.MetricThreshold):
    """Gates apply to the whole split; the slices are for reading, not for blocking."""
    return [tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()],
                                         threshold=threshold)]


def _metric(metric_class, *thresholds: tfma.MetricThreshold) -> tfma.MetricConfig:
    return tfma.MetricConfig(
        class_name=metric_class.__name__, module=METRICS_MODULE,
        per_slice_thresholds=[gate for threshold in thresholds for gate in _overall(threshold)])


def eval_config(config: EvalConfig) -> tfma.EvalConfig:
    """Exact match must reach the floor and must not fall more than the allowed drop below
    the last pushed model's; the loss must stay under the ceiling and may not rise more than
    the allowed increase."""
    exact_match_gate = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(
            lower_bound={"value": config.min_exact_match}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -config.max_exact_match_drop}))
    loss_gate = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(upper_bound={"value": config.max_loss}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.LOWER_IS_BETTER,
            absolute={"value": config.max_loss_increase}))
    return tfma.EvalConfig(
        # No label_key: the `evaluate` signature reads the labels from the examples itself.
        model_specs=[tfma.ModelSpec(signature_name=export.EVALUATE)],
        slicing_specs=[tfma.SlicingSpec()] + [
            tfma.SlicingSpec(feature_keys=[key]) for key in SLICE_FEATURES] + [
            # Every operation by both operands' digit counts: the report's digit tables and
            # the heat maps of `inspect --html` (pipeline/reports/quality.py, by_digits).
            tfma.SlicingSpec(feature_keys=list(SLICE_FEATURES))],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            _metric(metrics.ExactMatch, exact_match_gate),
            _metric(metrics.TokenAccuracy),
            _metric(metrics.MeanLoss, loss_gate),
        ])])
