"""Keys, output artifact type and ComponentSpec of SampleGenerator."""
from tfx import types
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.sample_generator import properties

# Execution parameter keys.
DATA_ROOT = "data_root"
SAMPLES = "samples"
SEED = "seed"
SHARDS = "shards"
MAX_VAL = "max_val"
OPS = "ops"
DRAW = "draw"
OP_WEIGHTS = "op_weights"
ENDS_SHARE = "ends_share"
CANCEL_SHARE = "cancel_share"
SPAN = "span"
# Output key.
SAMPLES_OUT = "samples_info"



class ArithmeticSamples(types.Artifact):
    """Records which span a generator run wrote, from which seed and parameters, as the custom
    properties named in properties.py."""
    TYPE_NAME = properties.TYPE_NAME


class SampleGeneratorSpec(types.ComponentSpec):
    PARAMETERS = {
        DATA_ROOT: ExecutionParameter(type=str),
        SAMPLES: ExecutionParameter(type=int),
        SEED: ExecutionParameter(type=int),
        SHARDS: ExecutionParameter(type=int),
        MAX_VAL: ExecutionParameter(type=int),
        OPS: ExecutionParameter(type=str),
        DRAW: ExecutionParameter(type=str),
        # Comma separated, as ops: "1,1,2"; "" for equally likely operators.
        OP_WEIGHTS: ExecutionParameter(type=str),
        ENDS_SHARE: ExecutionParameter(type=float),
        CANCEL_SHARE: ExecutionParameter(type=float),
        SPAN: ExecutionParameter(type=int),
    }
    INPUTS = {}
    OUTPUTS = {SAMPLES_OUT: ChannelParameter(type=ArithmeticSamples)}
