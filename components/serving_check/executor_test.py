"""ServingCheck's executor on real SavedModels that keep (or break) the serving contract."""
import json
import os

import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from components.serving_check import canaries, executor, spec
from modules import features, tokens

_SPEC = {features.DEFS: tf.io.VarLenFeature(tf.string), features.OP: tf.io.VarLenFeature(tf.string)}


def _table(pairs, default):
    keys, values = zip(*pairs)
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(list(keys), list(values)), default)


class _Fake(tf.Module):
    """Answers canaries from tables keyed by `defs:op`; `mode` breaks one rule on purpose."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode
        self.answers = _table([(f"{c.defs}:{c.op}", c.answer) for c in canaries.VALID], "")
        self.errors = _table([(f"{c.defs}:{c.op}", c.rejection) for c in canaries.MALFORMED], "")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def serve(self, examples):
        parsed = tf.io.parse_example(examples, _SPEC)
        key = tf.strings.join([tokens.joined(parsed[features.DEFS]),
                               tokens.joined(parsed[features.OP])], separator=":")
        res, error = self.answers.lookup(key), self.errors.lookup(key)
        if self.mode == "accepts_everything":
            error = tf.zeros_like(error)
            res = tf.fill(tf.shape(key), "1")
        if self.mode == "batch_dependent":
            res = tf.fill(tf.shape(key), tf.strings.as_string(tf.size(key)))
        confidence = tf.where(tf.strings.length(res) > 0, 0.9, 0.0)
        return {"res": res, "confidence": confidence, "error": error}


def _model_artifact(tmp_path, mode):
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "model")
    serving = os.path.join(model.uri, "Format-Serving")
    if mode == "not_a_model":
        os.makedirs(serving)
        open(os.path.join(serving, "saved_model.pb"), "wb").write(b"not a graph")
    else:
        module = _Fake(mode)
        tf.saved_model.save(module, serving, signatures={"serving_default": module.serve})
    return model


def _check(tmp_path, mode, **parameters):
    blessing = standard_artifacts.InfraBlessing()
    blessing.uri = str(tmp_path / "blessing")
    os.makedirs(blessing.uri)
    properties = {spec.MAX_LATENCY_MS: 1000.0, spec.MIN_CANARY_ACCURACY: 0.0,
                  spec.TIMEOUT_SECONDS: 120, spec.REPEATS: 2}
    properties.update(parameters)
    executor.Executor().Do({spec.MODEL: [_model_artifact(tmp_path, mode)]},
                           {spec.BLESSING: [blessing]}, properties)
    report = json.load(open(os.path.join(blessing.uri, executor.REPORT)))
    return blessing, report


def test_a_model_that_keeps_the_contract_is_blessed(tmp_path):
    blessing, report = _check(tmp_path, "good", **{spec.MIN_CANARY_ACCURACY: 1.0})
    assert report["failures"] == []
    assert blessing.get_int_custom_property("blessed") == 1
    assert blessing.get_int_custom_property("canaries_correct") == len(canaries.VALID)
    assert os.path.exists(os.path.join(blessing.uri, executor.BLESSED_FILE))
    assert len(report["latencies_ms"]) == 2 * len(canaries.ALL)


@pytest.mark.parametrize("mode,reason", [
    ("accepts_everything", "was not rejected cleanly"),
    ("batch_dependent", "answered differently alone"),
    ("not_a_model", "could not be loaded or served"),
])
def test_a_model_that_breaks_the_contract_is_not_blessed(tmp_path, mode, reason):
    blessing, report = _check(tmp_path, mode)
    assert blessing.get_int_custom_property("blessed") == 0
    assert os.path.exists(os.path.join(blessing.uri, executor.NOT_BLESSED_FILE))
    assert any(reason in failure for failure in report["failures"]), report["failures"]


def test_latency_and_accuracy_floors_are_enforced(tmp_path):
    _, report = _check(tmp_path, "accepts_everything", **{spec.MAX_LATENCY_MS: 1e-6,
                                                          spec.MIN_CANARY_ACCURACY: 0.5})
    assert any("median latency" in failure for failure in report["failures"])
    assert any("min_canary_accuracy=0.5" in failure for failure in report["failures"])


def test_bad_parameters_are_named(tmp_path):
    with pytest.raises(ValueError, match="max_latency_ms=0"):
        _check(tmp_path, "good", **{spec.MAX_LATENCY_MS: 0})
