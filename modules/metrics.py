"""TFMA metrics that average the `evaluate` signature's per-example scores.

The exported model decodes inside its `evaluate` signature (Mask-Predict passes included) and
returns per example `exact_match` (1.0 when the decoded result equals the label),
`token_accuracy` and `loss`. The signature has no separate label tensor for TFMA: the labels
live inside the serialized examples it is given. These metrics are therefore the weighted
means of one of those outputs, read from the predictions, per slice and per model, so that
TFMA can compare a candidate with a baseline through change thresholds.

Use them as `tfma.MetricConfig(class_name="ExactMatch", module="modules.metrics")`.
"""
from typing import Dict, Iterable, List, Optional

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util
from tensorflow_model_analysis.proto import config_pb2

# Output keys of the `evaluate` signature (modules/export.py), used as metric names too.
EXACT_MATCH = "exact_match"
TOKEN_ACCURACY = "token_accuracy"
LOSS = "loss"


def _reading(eval_config: Optional[config_pb2.EvalConfig],
             output: str) -> config_pb2.EvalConfig:
    """The eval config with `output` as every model's prediction key.

    TFMA's own lookup (`metric_util.to_label_prediction_example_weight`) then selects the
    model (candidate or baseline), the output name if one is configured, and finally this
    entry of the signature's output dict; and it finds the matching example weights.
    """
    reading = config_pb2.EvalConfig()
    if eval_config is not None:
        reading.CopyFrom(eval_config)
    if not reading.model_specs:
        reading.model_specs.add()
    for spec in reading.model_specs:
        spec.prediction_key = output
    return reading


class _WeightedMean(beam.CombineFn):
    """Weighted mean of one per-example output of one model, over the examples of a slice."""

    def __init__(self, key: metric_types.MetricKey, output: str,
                 eval_config: Optional[config_pb2.EvalConfig]):
        self._key = key
        self._output = output
        self._eval_config = _reading(eval_config, output)

    def create_accumulator(self) -> List[float]:
        return [0.0, 0.0]  # weighted sum, total weight

    def add_input(self, accumulator: List[float],
                  inputs: metric_types.StandardMetricInputs) -> List[float]:
        for _, prediction, weight in metric_util.to_label_prediction_example_weight(
                inputs, eval_config=self._eval_config, model_name=self._key.model_name,
                output_name=self._key.output_name, sub_key=self._key.sub_key,
                example_weighted=self._key.example_weighted, flatten=False, squeeze=False,
                allow_none=True):
            if prediction.size == 0:
                raise ValueError(f"no output {self._output!r} for model "
                                 f"{self._key.model_name!r}: is the model spec's "
                                 f"signature the `evaluate` one?")
            # One value per example; a per-example weight applies to all of its values.
            weight = float(np.mean(weight))
            accumulator[0] += weight * float(np.mean(prediction))
            accumulator[1] += weight
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[List[float]]) -> List[float]:
        total = [0.0, 0.0]
        for weighted_sum, weight in accumulators:
            total[0] += weighted_sum
            total[1] += weight
        return total

    def extract_output(self, accumulator: List[float]) -> Dict[metric_types.MetricKey, float]:
        weighted_sum, weight = accumulator
        return {self._key: weighted_sum / weight if weight else float("nan")}


def _mean_of_output(name: str, output: str,
                    eval_config: Optional[config_pb2.EvalConfig] = None,
                    model_name: str = "", output_name: str = "",
                    sub_key: Optional[metric_types.SubKey] = None,
                    example_weighted: bool = False) -> metric_types.MetricComputations:
    """One computation per (model, output name, sub key): merge_per_key_computations calls it."""
    key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                                 sub_key=sub_key, example_weighted=example_weighted)
    return [metric_types.MetricComputation(
        keys=[key], preprocessors=None,
        combiner=_WeightedMean(key, output, eval_config))]


class MeanOfOutput(metric_types.Metric):
    """Weighted mean of one per-example output of the model (the shared implementation)."""

    OUTPUT = ""

    def __init__(self, name: str = "", output: str = ""):
        output = output or self.OUTPUT
        if not output:
            raise ValueError("MeanOfOutput needs the name of a per-example model output")
        super().__init__(metric_util.merge_per_key_computations(_mean_of_output),
                         name=name or output, output=output)


class ExactMatch(MeanOfOutput):
    """Share of examples whose decoded result, read up to its first STP as serving returns it,
    equals the label."""
    OUTPUT = EXACT_MATCH


class TokenAccuracy(MeanOfOutput):
    """Per example, the share of the label's positions (its digits, sign and STP, not the
    padding after it) predicted right; averaged over examples."""
    OUTPUT = TOKEN_ACCURACY


class MeanLoss(MeanOfOutput):
    """Cross-entropy (nats) per label position (its tokens and STP, not the padding after
    it) of the first, fully blank decoding pass."""
    OUTPUT = LOSS


for _metric in (MeanOfOutput, ExactMatch, TokenAccuracy, MeanLoss):
    metric_types.register_metric(_metric)
