"""Keys and ComponentSpec of ServingCheck."""
from tfx import types
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

MODEL = "model"
BLESSING = "blessing"
MAX_LATENCY_MS = "max_latency_ms"
MIN_CANARY_ACCURACY = "min_canary_accuracy"
TIMEOUT_SECONDS = "timeout_seconds"
REPEATS = "repeats"


class ServingCheckSpec(types.ComponentSpec):
    PARAMETERS = {
        MAX_LATENCY_MS: ExecutionParameter(type=float),
        MIN_CANARY_ACCURACY: ExecutionParameter(type=float),
        TIMEOUT_SECONDS: ExecutionParameter(type=int),
        REPEATS: ExecutionParameter(type=int),
    }
    INPUTS = {MODEL: ChannelParameter(type=standard_artifacts.Model)}
    OUTPUTS = {BLESSING: ChannelParameter(type=standard_artifacts.InfraBlessing)}
