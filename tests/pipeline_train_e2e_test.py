"""Transform and Trainer through the pipeline on tiny data, and the exported SavedModel."""
import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from components.sample_generator import samples
from modules import export, features
from tests import mlmd

pytestmark = pytest.mark.e2e


def _scalars(event_dir, tag):
    values = []
    for path in sorted(glob.glob(os.path.join(event_dir, "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            values += [tf.make_ndarray(v.tensor).item() for v in event.summary.value
                       if v.tag == tag]
    return values


def _request(defs, op, res=None):
    feature = {features.DEFS: tf.train.Feature(bytes_list=tf.train.BytesList(value=[defs.encode()])),
               features.OP: tf.train.Feature(bytes_list=tf.train.BytesList(value=[op.encode()]))}
    if res is not None:
        feature[features.RES] = tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[c.encode() for c in res]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


@pytest.fixture(scope="module")
def serving_model(train_run):
    return tf.saved_model.load(train_run.model_dir)


def test_trainer_runs_after_transform_and_lowers_the_loss(train_run):
    executions = mlmd.executions_by_node(train_run.metadata_path)
    for node in ("Transform", "Trainer"):  # later runs on this root may reuse them (CACHED)
        assert mlmd.states(executions[node])[0] == "COMPLETE", node
    losses = _scalars(os.path.join(train_run.run_dir, "train"), "epoch_loss")
    assert len(losses) == 10, losses
    assert losses[-1] < 0.8 * losses[0], losses
    assert os.path.exists(os.path.join(train_run.model_dir, "saved_model.pb"))


def test_serving_signature_answers_raw_examples_and_rejects_bad_ones(serving_model):
    serve = serving_model.signatures[export.SERVING]
    requests = [_request("x=3,y=-4", "x*y"), _request("x=3,y=4?", "x+y"),
                _request("x=3", "x*y"), _request("x=3,y=4", ""),
                _request("x=1234567890123456,y=4", "x*y"), _request("y=1,x=2", "y-x"),
                _request("x=1,y=2", "x*x")]
    out = {k: v.numpy() for k, v in serve(examples=tf.constant(requests)).items()}
    assert set(out) == {"res", "confidence", "error"}
    errors = [e.decode() for e in out["error"]]
    assert "unknown character" in errors[1]
    assert "defs must define x and y" in errors[2]
    assert "missing op" in errors[3]
    assert "longer than" in errors[4]
    assert "op must be x<o>y or y<o>x" in errors[6]
    for bad in range(1, 5):
        assert out["res"][bad] == b"" and out["confidence"][bad] == 0.0
    for good in (0, 5):
        assert errors[good] in ("", "the model gave no integer")
        assert 0.0 <= out["confidence"][good] <= 1.0


def test_serving_is_independent_of_batch_size(serving_model):
    serve = serving_model.signatures[export.SERVING]
    drawn = samples.generate(9, 9, ("+", "-", "*"), samples.shard_rng(3, 0))
    requests = tf.constant([_request(s.defs, s.op) for s in drawn])
    together = serve(examples=requests)
    for i in (0, 4, 8):
        alone = serve(examples=requests[i:i + 1])
        assert alone["res"].numpy()[0] == together["res"].numpy()[i]
        np.testing.assert_allclose(alone["confidence"].numpy()[0],
                                   together["confidence"].numpy()[i], rtol=1e-4)


def test_evaluate_signature_scores_labeled_examples(serving_model):
    evaluate = serving_model.signatures[export.EVALUATE]
    drawn = samples.generate(16, 9, ("+", "-", "*"), samples.shard_rng(4, 0))
    out = evaluate(examples=tf.constant([_request(s.defs, s.op, s.res) for s in drawn]))
    assert out["labels"].shape == out["ids"].shape == (16, 5)
    labels = out["labels"].numpy()
    # The model writes results least significant digit first (the tiny profile as the default).
    for row, sample in enumerate(drawn):
        length = len(sample.res)
        assert [features.VOCAB[t] for t in labels[row][:length]] == list(reversed(sample.res))
        assert labels[row][length] == features.STP
    exact = out["exact_match"].numpy()
    assert set(np.unique(exact)) <= {0.0, 1.0}
    # Whole result up to the first STP; what follows the STP is not part of the answer.
    ids = out["ids"].numpy()
    expected = [list(ids[row][:len(s.res) + 1]) == list(labels[row][:len(s.res) + 1])
                for row, s in enumerate(drawn)]
    np.testing.assert_array_equal(exact, expected)
    assert (out["loss"].numpy() > 0).all()


def test_operands_outside_the_trained_range_get_an_error_naming_it(serving_model, train_run):
    max_val = export.read_info(train_run.model_dir)["max_val"]
    assert max_val == 9  # the tiny profile's generator.max_val, recorded with the model
    serve = serving_model.signatures[export.SERVING]
    requests = [_request("x=12,y=3", "x+y"), _request("y=-10,x=1", "x*y"),
                _request("x=123456789,y=987654321", "x*y"), _request("x=-9,y=9", "x*y")]
    out = serve(examples=tf.constant(requests))
    errors = [e.decode() for e in out["error"].numpy()]
    for bad in range(3):
        assert "operands must be in [-9, 9]" in errors[bad], errors[bad]
        assert out["res"].numpy()[bad] == b""
    assert "operands must be" not in errors[3]


def test_served_results_and_the_evaluator_agree_per_example(serving_model):
    """exact_match is 1 exactly where serving's `res` equals the label: labels are set to what
    serving answered for half of the examples, and to something else for the other half."""
    serve = serving_model.signatures[export.SERVING]
    evaluate = serving_model.signatures[export.EVALUATE]
    drawn = samples.generate(40, 9, ("+", "-", "*"), samples.shard_rng(5, 0))
    served = serve(examples=tf.constant([_request(s.defs, s.op) for s in drawn]))["res"].numpy()
    answered = [res.decode() for res in served]
    labels = [res if i % 2 == 0 and res.lstrip("-").isdigit() else str(int(s.res) + 1000 + i)
              for i, (res, s) in enumerate(zip(answered, drawn))]
    wide = [len(label) < 5 for label in labels]  # tiny profile: width_dec 5, STP included
    scored = evaluate(examples=tf.constant(
        [_request(s.defs, s.op, label) for s, label, fits in zip(drawn, labels, wide) if fits]))
    expected = [float(res == label) for res, label, fits in zip(answered, labels, wide) if fits]
    assert sum(expected) >= 5, "too few served answers were integers to compare"
    np.testing.assert_array_equal(scored["exact_match"].numpy(), expected)


def test_token_accuracy_counts_the_label_and_its_stop_not_the_padding(serving_model):
    evaluate = serving_model.signatures[export.EVALUATE]
    drawn = samples.generate(16, 9, ("+", "-", "*"), samples.shard_rng(6, 0))
    out = evaluate(examples=tf.constant([_request(s.defs, s.op, s.res) for s in drawn]))
    ids, labels = out["ids"].numpy(), out["labels"].numpy()
    for row, sample in enumerate(drawn):
        length = len(sample.res) + 1  # the result and its STP
        expected = float(np.mean(ids[row][:length] == labels[row][:length]))
        assert out["token_accuracy"].numpy()[row] == pytest.approx(expected), row
