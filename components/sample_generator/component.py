"""SampleGenerator: a custom TFX component that writes a span of arithmetic samples with Beam."""
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import channel_utils

from components.sample_generator import executor, parameters, spec
from modules.config import GeneratorConfig


class SampleGenerator(base_beam_component.BaseBeamComponent):
    """Writes `<data_root>/span-<span>/data-*.tfrecord.gz` for ImportExampleGen to ingest."""
    SPEC_CLASS = spec.SampleGeneratorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, config: GeneratorConfig, data_root: str):
        super().__init__(spec=spec.SampleGeneratorSpec(
            **parameters.to_exec_properties(config), **{
                spec.DATA_ROOT: data_root,
                spec.SAMPLES_OUT: channel_utils.as_channel([spec.ArithmeticSamples()])}))
