"""ServingCheck: InfraValidator without Docker or Kubernetes. Loads the candidate SavedModel in a
fresh process, sends canary requests to `serving_default` and blesses the model (an
InfraBlessing that TFX's Pusher takes as `infra_blessing`) only if every check passes."""
from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel_utils, standard_artifacts

from components.serving_check import executor, spec


class ServingCheck(base_component.BaseComponent):
    """Outputs `blessing` (InfraBlessing) with custom properties `blessed` (1 or 0),
    `canaries_correct`, `canaries_valid`, `p50_ms`, `max_ms` (when measured) and
    `failed_checks`; its directory holds INFRA_BLESSED or INFRA_NOT_BLESSED and report.json."""
    SPEC_CLASS = spec.ServingCheckSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, model: types.BaseChannel,
                 max_latency_ms: float = spec.DEFAULTS[spec.MAX_LATENCY_MS],
                 min_canary_accuracy: float = spec.DEFAULTS[spec.MIN_CANARY_ACCURACY],
                 timeout_seconds: int = spec.DEFAULTS[spec.TIMEOUT_SECONDS],
                 repeats: int = spec.DEFAULTS[spec.REPEATS]):
        """Args:
          model: a Channel of Model (the Trainer's `model` output).
          max_latency_ms: the median batch-1 latency may not exceed this.
          min_canary_accuracy: the share of valid canaries answered right may not be below this
            (the canaries are one-digit problems; the Evaluator measures quality on the test
            split).
          timeout_seconds: the probe process (load, canaries, timing) is killed after this.
          repeats: timed rounds over the canaries, after one warm-up round.
        """
        parameters = executor.validate_parameters({
            spec.MAX_LATENCY_MS: max_latency_ms, spec.MIN_CANARY_ACCURACY: min_canary_accuracy,
            spec.TIMEOUT_SECONDS: timeout_seconds, spec.REPEATS: repeats})
        super().__init__(spec=spec.ServingCheckSpec(**{
            spec.MODEL: model, **parameters,
            spec.BLESSING: channel_utils.as_channel([standard_artifacts.InfraBlessing()])}))
