"""Keys, file names and ComponentSpec of ServingCheck."""
from tfx import types
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

# Input and output keys.
MODEL = "model"
BLESSING = "blessing"
# Execution parameter keys.
MAX_LATENCY_MS = "max_latency_ms"
MIN_CANARY_ACCURACY = "min_canary_accuracy"
TIMEOUT_SECONDS = "timeout_seconds"
REPEATS = "repeats"
# Custom properties of the blessing; `blessed` is the one TFX's Pusher reads.
BLESSED = "blessed"
CANARIES_CORRECT = "canaries_correct"
CANARIES_VALID = "canaries_valid"
P50_MS = "p50_ms"
MAX_MS = "max_ms"
FAILED_CHECKS = "failed_checks"
# Files in the blessing's directory: the same markers as TFX's InfraValidator, and the report.
BLESSED_FILE = "INFRA_BLESSED"
NOT_BLESSED_FILE = "INFRA_NOT_BLESSED"
REPORT = "report.json"

# The gates' defaults are EvalConfig's (a test keeps them equal); not imported from there, so
# that an edit of modules/config.py does not change this component's source version.
DEFAULTS = {MAX_LATENCY_MS: 1000.0, MIN_CANARY_ACCURACY: 0.75, TIMEOUT_SECONDS: 300, REPEATS: 3}


class ServingCheckSpec(types.ComponentSpec):
    PARAMETERS = {
        MAX_LATENCY_MS: ExecutionParameter(type=float),
        MIN_CANARY_ACCURACY: ExecutionParameter(type=float),
        TIMEOUT_SECONDS: ExecutionParameter(type=int),
        REPEATS: ExecutionParameter(type=int),
    }
    INPUTS = {MODEL: ChannelParameter(type=standard_artifacts.Model)}
    OUTPUTS = {BLESSING: ChannelParameter(type=standard_artifacts.InfraBlessing)}
