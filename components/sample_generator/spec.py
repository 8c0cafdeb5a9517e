"""Keys, output artifact type and ComponentSpec of SampleGenerator."""
from tfx import types
from tfx.types import artifact
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

# Execution parameter keys.
DATA_ROOT = "data_root"
SAMPLES = "samples"
SEED = "seed"
SHARDS = "shards"
MAX_VAL = "max_val"
OPS = "ops"
SPAN = "span"
# Output key.
SAMPLES_OUT = "samples_info"

_INT = artifact.Property(type=artifact.PropertyType.INT)
_STRING = artifact.Property(type=artifact.PropertyType.STRING)


class ArithmeticSamples(types.Artifact):
    """Records which span a generator run wrote, from which seed and parameters."""
    TYPE_NAME = "ArithmeticSamples"
    PROPERTIES = {"span": _INT, "seed": _INT, "num_samples": _INT, "num_shards": _INT,
                  "max_val": _INT, "ops": _STRING, "data_dir": _STRING}


class SampleGeneratorSpec(types.ComponentSpec):
    PARAMETERS = {
        DATA_ROOT: ExecutionParameter(type=str),
        SAMPLES: ExecutionParameter(type=int),
        SEED: ExecutionParameter(type=int),
        SHARDS: ExecutionParameter(type=int),
        MAX_VAL: ExecutionParameter(type=int),
        OPS: ExecutionParameter(type=str),
        SPAN: ExecutionParameter(type=int),
    }
    INPUTS = {}
    OUTPUTS = {SAMPLES_OUT: ChannelParameter(type=ArithmeticSamples)}
