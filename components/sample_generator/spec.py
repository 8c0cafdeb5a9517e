"""Keys, output artifact type and ComponentSpec of SampleGenerator."""
from tfx import types
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.sample_generator import parameters, properties

# Execution parameter key beside GeneratorConfig's fields, which are keys by their names.
DATA_ROOT = "data_root"
# Output key.
SAMPLES_OUT = "samples_info"


class ArithmeticSamples(types.Artifact):
    """Records which span a generator run wrote, from which seed and parameters, as custom
    properties (parameters.artifact_properties)."""
    TYPE_NAME = properties.TYPE_NAME


class SampleGeneratorSpec(types.ComponentSpec):
    PARAMETERS = {
        DATA_ROOT: ExecutionParameter(type=str),
        **{name: ExecutionParameter(type=kind)
           for name, kind in parameters.exec_property_types().items()},
    }
    INPUTS = {}
    OUTPUTS = {SAMPLES_OUT: ChannelParameter(type=ArithmeticSamples)}
