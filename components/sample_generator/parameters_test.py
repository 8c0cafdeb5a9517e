"""GeneratorConfig's fields reach every place the generator's parameters go, without a list of
them anywhere but the dataclass."""
import dataclasses
import inspect

import pytest

from components.sample_generator import parameters, samples
from components.sample_generator.component import SampleGenerator
from modules import config as config_lib

FIELDS = {field.name for field in dataclasses.fields(config_lib.GeneratorConfig)}


@pytest.mark.parametrize("profile", sorted(config_lib.PROFILES))
def test_each_profile_survives_the_trip_through_execution_parameters(profile):
    generator = config_lib.PROFILES[profile].generator
    exec_properties = parameters.to_exec_properties(generator)
    assert parameters.config_from(exec_properties) == generator
    # The component's spec type-checks them (an int in a float field would fail here).
    component = SampleGenerator(config=generator, data_root="/nowhere")
    assert {name: component.exec_properties[name] for name in FIELDS} == exec_properties


def test_an_int_given_for_a_float_field_travels_as_a_float():
    exec_properties = parameters.to_exec_properties(
        config_lib.GeneratorConfig(ends_share=0, cancel_share=1, op_weights=(1, 2, 2)))
    assert (exec_properties["ends_share"], exec_properties["cancel_share"]) == (0.0, 1.0)
    assert type(exec_properties["ends_share"]) is float
    assert exec_properties["op_weights"] == "1,2,2"  # as written: the pipeline's cache key


def test_every_field_but_the_span_fields_is_a_keyword_of_generate():
    keywords = set(inspect.signature(samples.generate).parameters) - {"count", "rng"}
    assert keywords == FIELDS - set(parameters.SPAN_FIELDS)


def test_shard_examples_draw_what_the_config_says():
    generator = config_lib.PROFILES["seed"].generator
    examples = list(samples.shard_examples(generator, 0, 20))
    drawn = samples.generate(20, rng=samples.shard_rng(generator.seed, 0, generator.span),
                             max_val=10_000, ops=("+", "-", "*"), draw="mixed,mixed,digits",
                             op_weights=(1, 1, 2), ends_share=0.025, cancel_share=0.4)
    assert examples == [samples.to_example(sample) for sample in drawn]


def test_the_artifact_keeps_the_property_names_older_stores_hold():
    recorded = parameters.artifact_properties(config_lib.GeneratorConfig(samples=7, shards=1))
    assert (recorded["num_samples"], recorded["num_shards"]) == (7, 1)
    assert "samples" not in recorded and recorded["ops"] == "+,-,*"


def test_a_manifest_from_before_the_later_fields_reads_as_their_defaults():
    # As the first spans recorded them (commit 9e4fa94): the value draw, every operator alike.
    first = {"samples": 400, "seed": 1, "shards": 2, "max_val": 9, "ops": ["+", "-", "*"],
             "span": 1}
    config = config_lib.GeneratorConfig(samples=400, shards=2, max_val=9, span=1)
    assert parameters.completed_record(first) == parameters.manifest_record(config)
    # A record missing a field that was always there is not completed: it matches nothing.
    assert parameters.completed_record({"seed": 1, "span": 1}) == {"seed": 1, "span": 1}
