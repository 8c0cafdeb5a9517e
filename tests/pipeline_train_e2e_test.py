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
    for node in ("Transform", "Trainer"):
        assert mlmd.states(executions[node])[-1] == "COMPLETE", node
    losses = _scalars(os.path.join(train_run.run_dir, "train"), "epoch_loss")
    assert len(losses) == 10, losses
    assert losses[-1] < 0.8 * losses[0], losses
    assert os.path.exists(os.path.join(train_run.model_dir, "saved_model.pb"))


def test_serving_signature_answers_raw_examples_and_rejects_bad_ones(serving_model):
    serve = serving_model.signatures[export.SERVING]
    requests = [_request("x=3,y=-4", "x*y"), _request("x=3,y=4?", "x+y"),
                _request("x=3", "x*y"), _request("x=3,y=4", ""),
                _request("x=1234567890123456,y=4", "x*y"), _request("y=1,x=2", "y-x")]
    out = {k: v.numpy() for k, v in serve(examples=tf.constant(requests)).items()}
    assert set(out) == {"res", "confidence", "error"}
    errors = [e.decode() for e in out["error"]]
    assert "unknown character" in errors[1]
    assert "defs must define x and y" in errors[2]
    assert "missing op" in errors[3]
    assert "longer than" in errors[4]
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
    assert [features.VOCAB[t] for t in labels[0][:len(drawn[0].res)]] == list(drawn[0].res)
    exact = out["exact_match"].numpy()
    assert set(np.unique(exact)) <= {0.0, 1.0}
    np.testing.assert_array_equal(exact, (out["ids"].numpy() == labels).all(axis=1))
    assert (out["loss"].numpy() > 0).all()
