"""ServingCheck: InfraValidator without Docker. Loads the candidate in a fresh process, runs
canary requests through `serving_default` and blesses the model only if every check passes."""
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel_utils, standard_artifacts

from components.serving_check import executor, spec


class ServingCheck(base_component.BaseComponent):
    SPEC_CLASS = spec.ServingCheckSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, model, max_latency_ms: float = 1000.0, min_canary_accuracy: float = 0.0,
                 timeout_seconds: int = 300, repeats: int = 3):
        super().__init__(spec=spec.ServingCheckSpec(**{
            spec.MODEL: model,
            spec.MAX_LATENCY_MS: float(max_latency_ms),
            spec.MIN_CANARY_ACCURACY: float(min_canary_accuracy),
            spec.TIMEOUT_SECONDS: int(timeout_seconds),
            spec.REPEATS: int(repeats),
            spec.BLESSING: channel_utils.as_channel([standard_artifacts.InfraBlessing()])}))
