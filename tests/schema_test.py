"""The curated schemas, with TFDV for real: each admits what its profile's generator writes,
and refuses data of a larger range or with characters off the vocabulary."""
import os

import pytest

import schema
from components.sample_generator import samples
from modules import config, features


def _statistics(rows, path):
    import tensorflow as tf
    import tensorflow_data_validation as tfdv
    with tf.io.TFRecordWriter(path) as writer:
        for row in rows:
            writer.write(samples.to_example(row))
    return tfdv.generate_statistics_from_tfrecord(path)


def _anomalies(statistics, schema_file):
    import tensorflow_data_validation as tfdv
    found = tfdv.validate_statistics(statistics, tfdv.load_schema_text(schema.path(schema_file)),
                                     environment="TRAINING")
    return {name: info.description for name, info in found.anomaly_info.items()}


@pytest.fixture(scope="module")
def seed_range(tmp_path_factory):
    """What the seed profile's generator writes: operands up to 10,000, drawn as it draws them."""
    g = config.profile("seed").generator
    rows = (samples.generate(3000, g.max_val, g.ops, samples.shard_rng(3, 0), g.draw,
                             g.op_weights, g.ends_share, g.cancel_share)
            + samples.compose([10000, -10000], [-10000, 9999], ("*",), samples.shard_rng(3, 1)))
    return _statistics(rows, str(tmp_path_factory.mktemp("seed") / "seed.tfrecord"))


def test_each_profile_names_a_curated_schema_that_exists():
    for name in config.PROFILES:
        assert config.profile(name).data.curated_schema in schema.names(), name
    assert os.path.isfile(schema.CURATED_SCHEMA)


def test_the_seed_schema_admits_the_seed_range_and_the_default_one_refuses_it(seed_range):
    assert _anomalies(seed_range, config.profile("seed").data.curated_schema) == {}
    refused = _anomalies(seed_range, config.profile("default").data.curated_schema)
    # Longer definitions and results, and operands of 3 to 5 digits.
    assert {features.DEFS, features.RES, features.X_DIGITS, features.Y_DIGITS} <= set(refused), \
        refused


def test_the_seed_schema_refuses_a_larger_range_and_unknown_characters(tmp_path):
    good = samples.generate(200, 10000, features.OPERATORS, samples.shard_rng(4, 0))
    bad = good[4:] + [
        good[0]._replace(defs="x=123456,y=7", x_digits=6),         # x beyond the range
        good[1]._replace(defs="y=100000,x=1", y_digits=6),         # y beyond the range
        good[2]._replace(defs="x=-99999,y=99999", res="-9999800001"),  # an 11-character result
        good[3]._replace(defs="x=12;y=3")]                          # `;` is no vocabulary token
    refused = _anomalies(_statistics(bad, str(tmp_path / "bad.tfrecord")),
                         config.profile("seed").data.curated_schema)
    assert set(refused) == {features.DEFS, features.RES, features.X_DIGITS, features.Y_DIGITS}, \
        refused
