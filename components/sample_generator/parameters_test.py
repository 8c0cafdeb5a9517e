"""GeneratorConfig's fields reach every place the generator's parameters go, without a list of
them anywhere but the dataclass."""
import dataclasses
import inspect

import pytest

from components.sample_generator import parameters, samples, spec
from modules import config as config_lib


@pytest.mark.parametrize("profile", sorted(config_lib.PROFILES))
def test_each_profile_survives_the_trip_through_execution_parameters(profile):
    generator = config_lib.PROFILES[profile].generator
    exec_properties = parameters.to_exec_properties(generator)
    assert all(isinstance(value, (int, float, str)) for value in exec_properties.values())
    assert parameters.config_from(exec_properties) == generator


def test_every_field_is_a_parameter_of_the_component_spec():
    fields = {field.name for field in dataclasses.fields(config_lib.GeneratorConfig)}
    assert fields | {spec.DATA_ROOT} == set(spec.SampleGeneratorSpec.PARAMETERS)
    assert spec.SampleGeneratorSpec.PARAMETERS["op_weights"].type is str  # a tuple, as "1,1,2"
    assert spec.SampleGeneratorSpec.PARAMETERS["ends_share"].type is float


def test_every_field_but_the_span_fields_is_a_keyword_of_generate():
    keywords = set(inspect.signature(samples.generate).parameters) - {"count", "rng"}
    fields = {field.name for field in dataclasses.fields(config_lib.GeneratorConfig)}
    assert keywords == fields - set(samples.SPAN_FIELDS)


def test_shard_examples_draw_what_the_config_says():
    generator = config_lib.PROFILES["seed"].generator
    examples = list(samples.shard_examples(generator, 0, 20))
    drawn = samples.generate(20, rng=samples.shard_rng(generator.seed, 0, generator.span),
                             max_val=10_000, ops=("+", "-", "*"), draw="mixed,mixed,digits",
                             op_weights=(1, 1, 2), ends_share=0.025, cancel_share=0.2)
    assert examples == [samples.to_example(sample) for sample in drawn]


def test_the_artifact_keeps_the_property_names_older_stores_hold():
    recorded = parameters.artifact_properties(config_lib.GeneratorConfig(samples=7, shards=1))
    assert (recorded["num_samples"], recorded["num_shards"]) == (7, 1)
    assert "samples" not in recorded and recorded["ops"] == "+,-,*"
