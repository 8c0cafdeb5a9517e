"""ServingCheck on real SavedModels (saved here with tf.Module) that keep or break the serving
contract of modules/export.py; each check runs the real probe in a fresh process."""
import json
import os

import pytest
import tensorflow as tf
from tensorflow.core.example import example_pb2
from tfx.components.util import model_utils
from tfx.types import channel, standard_artifacts

from components.serving_check import canaries, component, executor, spec
from modules import features, serving_contract, tokens
from modules.config import EvalConfig

_REQUEST = {features.DEFS: tf.io.VarLenFeature(tf.string),
            features.OP: tf.io.VarLenFeature(tf.string)}
_WIDTH = 40
_ERRORS = (  # the first that holds is the error, as in modules/export.py
    (lambda d, o: tf.strings.length(d) == 0, serving_contract.MISSING_DEFS),
    (lambda d, o: tf.strings.length(o) == 0, serving_contract.MISSING_OP),
    (lambda d, o: tf.strings.regex_full_match(tf.strings.join([d, o]), r".*[^-xy=,+*0-9].*"),
     serving_contract.UNKNOWN_CHARACTER),
    (lambda d, o: tf.strings.length(d) + tf.strings.length(o) + 2 > _WIDTH,
     serving_contract.too_long(_WIDTH)),
    (lambda d, o: ~tf.strings.regex_full_match(d, r"x=-?[0-9]+,y=-?[0-9]+|y=-?[0-9]+,x=-?[0-9]+"),
     serving_contract.BAD_DEFS),
    (lambda d, o: ~tf.strings.regex_full_match(o, r"[xy][-+*][xy]"), serving_contract.BAD_OP),
    (lambda d, o: tf.strings.regex_full_match(d, r".*[0-9]{3,}.*"),
     serving_contract.out_of_range(99)),
)


class _Fake(tf.Module):
    """Answers the valid canaries from a table keyed by `defs:op` and rejects malformed
    requests by regexes; `mode` breaks one rule of the contract on purpose."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode
        self.answers = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            [c.key for c in canaries.VALID], [c.answer for c in canaries.VALID]), "")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, examples):
        parsed = tf.io.parse_example(examples, _REQUEST)
        defs, op = tokens.joined(parsed[features.DEFS]), tokens.joined(parsed[features.OP])
        error = tf.zeros_like(defs)
        for condition, message in reversed(_ERRORS):
            error = tf.where(condition(defs, op), message, error)
        res = self.answers.lookup(tf.strings.join([defs, op], separator=":"))
        if self.mode == "wrong_answers":
            res = tf.where(tf.strings.length(res) > 0, "0", res)
        if self.mode == "accepts_everything":
            error, res = tf.zeros_like(error), tf.where(tf.strings.length(res) > 0, res, "0")
        failed = tf.strings.length(error) > 0
        res = tf.where(failed, "", res)
        answered = ~failed & tf.strings.regex_full_match(res, "-?[0-9]+")
        error = tf.where(failed | answered, error, serving_contract.NO_INTEGER)
        confidence = tf.where(answered, 0.75, 0.0)
        if self.mode == "batch_dependent":
            confidence = confidence / tf.cast(tf.size(examples), tf.float32)
        outputs = {"res": res, "confidence": confidence, "error": error}
        if self.mode == "crashes":
            with tf.control_dependencies([tf.raw_ops.Abort(error_msg="serving crashed")]):
                outputs = {key: tf.identity(value) for key, value in outputs.items()}
        return outputs


def _model(tmp_path, mode):
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "model")
    serving = os.path.join(model.uri, "Format-Serving")
    if mode == "not_a_model":
        os.makedirs(serving)
        with open(os.path.join(serving, "saved_model.pb"), "wb") as f:
            f.write(b"not a graph")
    else:
        module = _Fake(mode)
        name = "predict" if mode == "no_serving_signature" else "serving_default"
        tf.saved_model.save(module, serving, signatures={name: module.serve})
    return model


def _check(tmp_path, mode, **parameters):
    blessing = standard_artifacts.InfraBlessing()
    blessing.uri = str(tmp_path / "blessing")
    os.makedirs(blessing.uri)
    properties = {spec.MAX_LATENCY_MS: 1000.0, spec.MIN_CANARY_ACCURACY: 0.0,
                  spec.TIMEOUT_SECONDS: 120, spec.REPEATS: 2}
    properties.update(parameters)
    executor.Executor().Do({spec.MODEL: [_model(tmp_path, mode)]},
                           {spec.BLESSING: [blessing]}, properties)
    with open(os.path.join(blessing.uri, spec.REPORT)) as f:
        report = json.load(f)
    return blessing, report


def _markers(blessing):
    return sorted(name for name in os.listdir(blessing.uri)
                  if name in (spec.BLESSED_FILE, spec.NOT_BLESSED_FILE))


def test_a_model_that_keeps_the_contract_is_blessed(tmp_path):
    blessing, report = _check(tmp_path, "good", **{spec.MIN_CANARY_ACCURACY: 1.0})
    assert report["failures"] == [] and report["warnings"] == []
    assert blessing.get_int_custom_property(spec.BLESSED) == 1
    assert model_utils.is_infra_validated(blessing)  # what TFX's Pusher asks
    assert _markers(blessing) == [spec.BLESSED_FILE]
    assert blessing.get_int_custom_property(spec.CANARIES_CORRECT) == len(canaries.VALID)
    assert blessing.get_int_custom_property(spec.CANARIES_VALID) == len(canaries.VALID)
    assert blessing.get_string_custom_property(spec.FAILED_CHECKS) == ""
    p50, slowest = (blessing.get_float_custom_property(spec.P50_MS),
                    blessing.get_float_custom_property(spec.MAX_MS))
    assert 0 < p50 <= slowest
    assert len(report["latencies_ms"]) == 2 * len(canaries.ALL)
    rejected = [row["batch_1"] for row in report["canaries"] if row["malformed"]]
    assert [answer["error"] != "" and answer["res"] == "" for answer in rejected] == \
        [True] * len(canaries.MALFORMED)


@pytest.mark.parametrize("mode,failed_check,reason", [
    ("accepts_everything", canaries.REJECTS_MALFORMED, "was not rejected cleanly"),
    ("batch_dependent", canaries.BATCH_CONSISTENCY, "answered differently alone"),
    ("not_a_model", canaries.LOADS, "does not load"),
    ("no_serving_signature", canaries.SIGNATURE, "has no 'serving_default' signature"),
    ("crashes", canaries.LOADS, "killed by SIGABRT"),
])
def test_a_model_that_breaks_the_contract_is_not_blessed(tmp_path, mode, failed_check, reason):
    blessing, report = _check(tmp_path, mode)
    assert blessing.get_int_custom_property(spec.BLESSED) == 0
    assert not model_utils.is_infra_validated(blessing)
    assert _markers(blessing) == [spec.NOT_BLESSED_FILE]
    assert report["failed_checks"] == [failed_check], report["failures"]
    assert blessing.get_string_custom_property(spec.FAILED_CHECKS) == failed_check
    assert any(failure.startswith(f"{failed_check}: ") and reason in failure
               for failure in report["failures"]), report["failures"]


def test_a_probe_that_overruns_the_timeout_is_killed(tmp_path):
    blessing, report = _check(tmp_path, "good", **{spec.TIMEOUT_SECONDS: 1})
    assert blessing.get_int_custom_property(spec.BLESSED) == 0
    assert report["failures"] == [f"{canaries.LOADS}: the model did not load and answer the "
                                  "canaries within timeout_seconds=1 (probe killed)"]
    assert not blessing.has_custom_property(spec.P50_MS)


def test_the_component_defaults_are_the_pipeline_defaults():
    assert spec.DEFAULTS[spec.MAX_LATENCY_MS] == EvalConfig().max_latency_ms
    assert spec.DEFAULTS[spec.MIN_CANARY_ACCURACY] == EvalConfig().min_canary_accuracy


def test_wrong_answers_fail_the_accuracy_gate_with_the_default_settings(tmp_path):
    defaults = {key: spec.DEFAULTS[key] for key in (spec.MAX_LATENCY_MS,
                                                    spec.MIN_CANARY_ACCURACY)}
    blessing, report = _check(tmp_path, "wrong_answers", **defaults)
    assert blessing.get_int_custom_property(spec.BLESSED) == 0
    assert report["failed_checks"] == [canaries.ACCURACY], report["failures"]


def test_latency_and_accuracy_floors_are_enforced(tmp_path):
    blessing, report = _check(tmp_path, "wrong_answers", **{spec.MAX_LATENCY_MS: 1e-3,
                                                             spec.MIN_CANARY_ACCURACY: 0.5})
    assert report["failed_checks"] == [canaries.LATENCY, canaries.ACCURACY], report["failures"]
    assert blessing.get_int_custom_property(spec.CANARIES_CORRECT) == 0
    assert "max_latency_ms=0.001" in report["failures"][0]
    assert "0 of 8 valid canaries answered right (0%), below min_canary_accuracy=0.5" in \
        report["failures"][1]
    assert executor.summary(report).startswith(
        "ServingCheck: model NOT blessed; failed checks: latency, accuracy")


@pytest.mark.parametrize("key,value,message", [
    (spec.MAX_LATENCY_MS, 0, "max_latency_ms=0 must be a positive"),
    (spec.MAX_LATENCY_MS, "fast", "max_latency_ms='fast' is not a number"),
    (spec.MIN_CANARY_ACCURACY, 1.5, r"min_canary_accuracy=1.5 must be in \[0, 1\]"),
    (spec.TIMEOUT_SECONDS, 0, "timeout_seconds=0 must be at least 1"),
    (spec.REPEATS, 2.5, "repeats=2.5 must be a whole number"),
])
def test_bad_parameters_are_named_before_anything_runs(tmp_path, key, value, message):
    blessing = standard_artifacts.InfraBlessing()
    blessing.uri = str(tmp_path / "blessing")
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "model")
    with pytest.raises(ValueError, match=message):
        executor.Executor().Do({spec.MODEL: [model]}, {spec.BLESSING: [blessing]}, {key: value})
    with pytest.raises(ValueError, match=message):
        component.ServingCheck(model=channel.Channel(type=standard_artifacts.Model),
                               **{key: value})
    assert not os.path.exists(blessing.uri)


def test_component_outputs_an_infra_blessing_for_the_pusher():
    check = component.ServingCheck(model=channel.Channel(type=standard_artifacts.Model),
                                   max_latency_ms=250, min_canary_accuracy=0.25)
    assert check.outputs[spec.BLESSING].type is standard_artifacts.InfraBlessing
    assert check.inputs[spec.MODEL].type is standard_artifacts.Model
    assert check.exec_properties == {spec.MAX_LATENCY_MS: 250.0, spec.MIN_CANARY_ACCURACY: 0.25,
                                     spec.TIMEOUT_SECONDS: 300, spec.REPEATS: 3}


def test_requests_carry_each_field_whole_or_one_character_per_value():
    whole, split = canaries.VALID[0], next(c for c in canaries.VALID if c.per_character)
    for canary in (whole, split):
        feature = example_pb2.Example.FromString(canaries.request(canary)).features.feature
        assert b"".join(feature[features.DEFS].bytes_list.value).decode() == canary.defs
        assert len(feature[features.OP].bytes_list.value) == (3 if canary.per_character else 1)
    missing_op = next(c for c in canaries.MALFORMED if not c.op)
    assert features.OP not in example_pb2.Example.FromString(
        canaries.request(missing_op)).features.feature


def _answers(valid, malformed):
    return [dict(valid) for _ in canaries.VALID] + [dict(malformed) for _ in canaries.MALFORMED]


def test_checks_accept_no_integer_and_only_warn_about_wording():
    rejected = {"res": "", "confidence": 0.0, "error": "bad request"}
    no_integer = {"res": "1-", "confidence": 0.0, "error": serving_contract.NO_INTEGER}
    answers = _answers(no_integer, rejected)
    result = canaries.evaluate(answers, answers, "", [5.0, 7.0, 30.0], 10.0, 0.0)
    assert result["failed_checks"] == [] and result["canaries_correct"] == 0
    assert (result["p50_ms"], result["max_ms"]) == (7.0, 30.0)
    assert len(result["warnings"]) == len(canaries.MALFORMED)

    silent = _answers({"res": "x", "confidence": 1.5, "error": ""},
                      {"res": "", "confidence": 0.2, "error": "bad"})
    result = canaries.evaluate(silent, None, "InvalidArgumentError: boom", [], 10.0, 0.0)
    assert result["failed_checks"] == [canaries.REJECTS_MALFORMED, canaries.ACCEPTS_VALID,
                                       canaries.CONFIDENCE_RANGE, canaries.BATCH_CONSISTENCY,
                                       canaries.LATENCY]
