"""SampleGenerator's span writer and executor, on real Beam and real files."""
import hashlib
import json
import os

import apache_beam as beam
import pytest
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions

from components.sample_generator import executor, parameters, span_writer, spec
from modules import features
from modules.config import ConfigError, GeneratorConfig

CONFIG = GeneratorConfig(samples=301, seed=11, shards=3, max_val=20, ops=("+", "*"), span=4)


def _pipeline_factory(workers):
    if workers == 1:
        options = PipelineOptions(["--runner=DirectRunner"])
    else:
        options = PipelineOptions(["--runner=DirectRunner",
                                   "--direct_running_mode=multi_processing",
                                   f"--direct_num_workers={workers}"])
    return lambda: beam.Pipeline(options=options)


def _digests(directory):
    return {name: hashlib.sha256(open(os.path.join(directory, name), "rb").read()).hexdigest()
            for name in sorted(os.listdir(directory))}


def test_shard_plan_splits_every_sample_once():
    assert span_writer.shard_plan(10, 3) == [(0, 4), (1, 3), (2, 3)]
    assert sum(count for _, count in span_writer.shard_plan(301, 7)) == 301


def test_shards_are_byte_identical_across_worker_counts(tmp_path):
    one = span_writer.write_span(CONFIG, str(tmp_path / "one"), _pipeline_factory(1))[0]
    two = span_writer.write_span(CONFIG, str(tmp_path / "two"), _pipeline_factory(2))[0]
    assert one == two
    span_one = span_writer.span_dir(str(tmp_path / "one"), CONFIG.span)
    span_two = span_writer.span_dir(str(tmp_path / "two"), CONFIG.span)
    assert _digests(span_one) == _digests(span_two)
    assert sorted(os.listdir(tmp_path / "one")) == ["span-4"], "staging left behind"

    records = list(tf.data.TFRecordDataset(
        tf.io.gfile.glob(os.path.join(span_one, "*.tfrecord.gz")), compression_type="GZIP"))
    assert len(records) == CONFIG.samples
    parsed = tf.train.Example.FromString(records[0].numpy())
    assert set(parsed.features.feature) == set(features.RAW_TEXT_KEYS + features.RAW_INT_KEYS)


def test_existing_span_is_reused_or_refused(tmp_path):
    root = str(tmp_path)
    _, reused = span_writer.write_span(CONFIG, root, _pipeline_factory(1))
    before = _digests(span_writer.span_dir(root, CONFIG.span))
    _, reused_again = span_writer.write_span(CONFIG, root, _pipeline_factory(1))
    assert (reused, reused_again) == (False, True)
    assert _digests(span_writer.span_dir(root, CONFIG.span)) == before

    # A manifest from before `ends_share` and `cancel_share` existed describes the same span as
    # neither.
    manifest_path = os.path.join(span_writer.span_dir(root, CONFIG.span), span_writer.MANIFEST)
    with open(manifest_path) as f:
        manifest = json.load(f)
    del manifest["parameters"]["ends_share"], manifest["parameters"]["cancel_share"]
    with open(manifest_path, "w") as f:
        json.dump(manifest, f)
    assert span_writer.write_span(CONFIG, root, _pipeline_factory(1))[1]

    other_seed = GeneratorConfig(**{**CONFIG.__dict__, "seed": 12})
    with pytest.raises(span_writer.SpanConflictError, match="span-4 already exists"):
        span_writer.write_span(other_seed, root, _pipeline_factory(1))


def _exec_properties(**changes):
    properties = {spec.DATA_ROOT: "", **parameters.to_exec_properties(GeneratorConfig(
        samples=50, seed=3, shards=2, max_val=9, ops=("+", "-"), draw="digits",
        op_weights=(1, 3), ends_share=0.25, cancel_share=0.5, span=2))}
    properties.update(changes)
    return properties


def test_executor_writes_span_and_records_it_on_the_artifact(tmp_path):
    output = spec.ArithmeticSamples()
    output.uri = str(tmp_path / "artifact")
    os.makedirs(output.uri)
    data_root = str(tmp_path / "data")
    executor.Executor().Do({}, {spec.SAMPLES_OUT: [output]},
                           _exec_properties(**{spec.DATA_ROOT: data_root}))
    assert [output.get_int_custom_property(key) for key in ("span", "seed", "num_samples")] == [
        2, 3, 50]
    assert output.get_string_custom_property("ops") == "+,-"
    assert output.get_string_custom_property("draw") == "digits"
    assert output.get_string_custom_property("op_weights") == "1.0,3.0"
    assert output.get_float_custom_property("ends_share") == 0.25
    assert output.get_float_custom_property("cancel_share") == 0.5
    assert output.get_string_custom_property("data_dir") == os.path.join(data_root, "span-2")
    manifest = json.load(open(os.path.join(output.uri, span_writer.MANIFEST)))
    assert (manifest["parameters"]["seed"], manifest["parameters"]["draw"],
            manifest["parameters"]["op_weights"], manifest["parameters"]["ends_share"],
            manifest["parameters"]["cancel_share"]) == (3, "digits", [1.0, 3.0], 0.25, 0.5)
    assert len(manifest["files"]) == 2


@pytest.mark.parametrize("key,value,message", [
    ("samples", -5, "generator.samples=-5"),
    ("shards", 0, "generator.shards=0"),
    ("max_val", 0, "generator.max_val=0"),
    ("ops", "+,/", "generator.ops"),
    ("draw", "log", "generator.draw='log' is invalid: allowed values: value, digits, mixed, "
                    "longer"),
    ("draw", "mixed,mixed,digits", "generator.draw='mixed,mixed,digits' is invalid: "
                                   "allowed values: value, digits, mixed, longer; or one of "
                                   "them per operator of generator.ops"),
    ("op_weights", "1,0", "generator.op_weights='1.0,0.0' is invalid: one positive weight"),
    ("ends_share", 1.0, r"generator.ends_share=1.0 is invalid: must be in \[0, 1\)"),
    ("cancel_share", -0.1, r"generator.cancel_share=-0.1 is invalid: must be in \[0, 1\]"),
    ("samples", "many", "generator.samples='many': expected an integer"),
])
def test_executor_rejects_bad_parameters_before_writing(tmp_path, key, value, message):
    output = spec.ArithmeticSamples()
    output.uri = str(tmp_path / "artifact")
    properties = _exec_properties(**{spec.DATA_ROOT: str(tmp_path / "data"), key: value})
    with pytest.raises(ConfigError, match=message):
        executor.Executor().Do({}, {spec.SAMPLES_OUT: [output]}, properties)
    assert not os.path.exists(tmp_path / "data")
