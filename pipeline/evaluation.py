"""The TFMA configuration of the Evaluator: metrics, slices and the blessing thresholds."""
import tensorflow_model_analysis as tfma

from modules import export, features, metrics
from pipeline.config import EvalConfig

METRICS_MODULE = "modules.metrics"
SLICE_FEATURES = (features.OPERATION, features.X_DIGITS, features.Y_DIGITS)


def _overall(threshold: tfma.MetricThreshold):
    """Gates apply to the whole split; the slices are for reading, not for blocking."""
    return [tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()],
                                         threshold=threshold)]


def eval_config(config: EvalConfig) -> tfma.EvalConfig:
    """Exact match must reach the floor and must not fall more than the allowed drop below
    the last blessed model's; nor may the loss rise more than the allowed increase."""
    exact_match = tfma.MetricConfig(
        class_name=metrics.ExactMatch.__name__, module=METRICS_MODULE,
        per_slice_thresholds=_overall(tfma.MetricThreshold(
            value_threshold=tfma.GenericValueThreshold(
                lower_bound={"value": config.min_exact_match}),
            change_threshold=tfma.GenericChangeThreshold(
                direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                absolute={"value": -config.max_exact_match_drop}))))
    loss = tfma.MetricConfig(
        class_name=metrics.MeanLoss.__name__, module=METRICS_MODULE,
        per_slice_thresholds=_overall(tfma.MetricThreshold(
            change_threshold=tfma.GenericChangeThreshold(
                direction=tfma.MetricDirection.LOWER_IS_BETTER,
                absolute={"value": config.max_loss_increase}))))
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name=export.EVALUATE)],
        slicing_specs=[tfma.SlicingSpec()] + [
            tfma.SlicingSpec(feature_keys=[key]) for key in SLICE_FEATURES],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            exact_match,
            tfma.MetricConfig(class_name=metrics.TokenAccuracy.__name__, module=METRICS_MODULE),
            loss,
        ])])
