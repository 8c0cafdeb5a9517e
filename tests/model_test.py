"""Tests of the compiled model: it learns, it is batch-size independent, it saves and reloads."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from modules import model as arith
from modules.features import DEC, ENC, SEP, SPC, STP, TGT, TOKEN_OF
from modules.config import ModelConfig

# The reference's layers alone (no Hints head, no place positions; a test below adds them), with
# the sliding context on.
CONFIG = ModelConfig(dim_batch=4, dim_hidden=16, dim_dense=32, dim_heads=2, dim_stacks=1,
                     width_enc=24, width_dec=6, warmup_steps=5, train_steps=60,
                     learning_rate=1e-2, context_drop=0.5, precision="float32",
                     place_positions=False, hint_weight=0.0)

# (defs, op, result): enc = defs SEP op SEP, tgt = result STP.
SAMPLES = [("x=3,y=-4", "x*y", "-12"), ("x=7,y=2", "x+y", "9"), ("x=5,y=8", "x-y", "-3"),
           ("x=-6,y=6", "x*y", "-36"), ("x=1,y=9", "y-x", "8"), ("x=4,y=4", "x*y", "16"),
           ("x=0,y=-7", "x+y", "-7"), ("x=9,y=3", "x-y", "6")]


def tok(text):
    return [TOKEN_OF[ch] for ch in text]


def ragged(rows):
    return tf.ragged.constant(rows, dtype=tf.int64, ragged_rank=1)


def features(samples, blank_every=2):
    enc = [tok(defs) + [SEP] + tok(op) + [SEP] for defs, op, _ in samples]
    tgt = [tok(res) + [STP] for _, _, res in samples]
    dec = [[SPC if i % blank_every == 0 else t for i, t in enumerate(row)] for row in tgt]
    return {ENC: ragged(enc), DEC: ragged(dec), TGT: ragged(tgt)}


@pytest.fixture(scope="module")
def model():
    return arith.build_model(CONFIG)


def test_pad_labels_pads_with_spc_and_rejects_long_rows():
    labels = arith.pad_labels(ragged([tok("-12") + [STP], [STP]]), 6)
    assert labels.dtype == tf.int64
    assert labels.numpy().tolist() == [tok("-12") + [STP, SPC, SPC], [STP] + [SPC] * 5]
    with pytest.raises(tf.errors.InvalidArgumentError, match="width_dec=2"):
        arith.pad_labels(ragged([tok("-12") + [STP]]), 2)


def test_fit_lowers_the_loss(model):
    x = features(SAMPLES)
    y = arith.pad_labels(x[TGT], CONFIG.width_dec)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(CONFIG.dim_batch).repeat()
    assert model.output_shape == (None, CONFIG.width_dec, 20)
    before = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    model.fit(data, steps_per_epoch=CONFIG.train_steps, epochs=1, verbose=0)
    after = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert after["loss"] < 0.6 * before["loss"]
    assert after["token_accuracy"] > before["token_accuracy"]
    # Full training batches fed the sliding context.
    assert model.get_layer("frames").prev_len.numpy().min() > 0


def test_predictions_do_not_depend_on_batch_size(model):
    inputs = arith.serving_inputs(features(SAMPLES)[ENC])
    together = model(inputs, training=False).numpy()
    for rows in (1, 3, 8):
        part = arith.serving_inputs(features(SAMPLES[:rows])[ENC])
        np.testing.assert_allclose(model(part, training=False).numpy(), together[:rows],
                                   atol=1e-5)
    # Context from training never leaks into prediction, even at batch size dim_batch.
    four = arith.serving_inputs(features(SAMPLES[:4])[ENC])
    np.testing.assert_allclose(model.predict(four, verbose=0), together[:4], atol=1e-5)


def test_saves_and_reloads(model, tmp_path):
    inputs = arith.serving_inputs(features(SAMPLES[:3])[ENC])
    expected = model(inputs, training=False).numpy()
    path = str(tmp_path / "saved")
    model.save(path, save_format="tf")
    reloaded = tf_keras.models.load_model(path)
    assert isinstance(reloaded, arith.ArithModel)
    np.testing.assert_allclose(reloaded(inputs, training=False).numpy(), expected, atol=1e-5)
    assert reloaded.get_layer("frames").get_config() == model.get_layer("frames").get_config()
    raw = tf.saved_model.load(path)
    np.testing.assert_allclose(raw(inputs, training=False).numpy(), expected, atol=1e-5)


def test_a_mixed_precision_model_is_served_in_float32():
    mixed_config = dataclasses.replace(CONFIG, precision="mixed_bfloat16")
    mixed = arith.build_model(mixed_config)
    assert mixed.get_layer("encode").compute_dtype == "bfloat16"
    served = arith.for_serving(mixed, mixed_config)
    assert served.get_layer("encode").compute_dtype == "float32"
    for ours, theirs in zip(served.get_weights(), mixed.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    inputs = arith.serving_inputs(features(SAMPLES)[ENC])
    np.testing.assert_allclose(served(inputs, training=False).numpy(),
                               mixed(inputs, training=False).numpy(), atol=0.1)
    assert arith.for_serving(served, CONFIG) is served


@pytest.mark.parametrize("larger_weight", [0.0, 0.2])
def test_a_model_with_hints_trains_every_head_and_serves_the_result_alone(larger_weight):
    from modules import hints
    config = dataclasses.replace(CONFIG, hint_weight=0.5, larger_weight=larger_weight,
                                 place_positions=True, reverse_result=True, context_drop=1.0,
                                 precision="mixed_bfloat16")
    model = arith.build_model(config)
    x = features(SAMPLES)
    labels = arith.pad_labels(x[TGT], config.width_dec)
    defs, ops = tf.constant([d for d, _, _ in SAMPLES]), tf.constant([o for _, o, _ in SAMPLES])
    head_labels = [hints.carries(defs, ops, config.width_dec)]
    if larger_weight:
        head_labels.append(hints.larger(defs, ops, config.width_dec))
    assert [output.shape[-1] for output in model.outputs] == [20, arith.HINT_CLASSES] + (
        [hints.LARGER_CLASSES] if larger_weight else [])
    history = model.fit(x, (labels, *head_labels), batch_size=4, epochs=3, verbose=0).history
    # The total loss is the result's plus half the hints' (plus the larger head's at its weight).
    assert history["loss"][-1] == pytest.approx(
        history["debed_loss"][-1] + 0.5 * history["hints_loss"][-1]
        + (larger_weight * history["larger_loss"][-1] if larger_weight else 0), rel=1e-4)
    served = arith.for_serving(model, config)
    assert len(served.outputs) == 1 and not {"hints", "larger"} & {
        layer.name for layer in served.layers}
    inputs = arith.serving_inputs(x[ENC])
    np.testing.assert_allclose(served(inputs, training=False).numpy(),
                               model(inputs, training=False)[0].numpy(), atol=0.1)


def test_weight_decay_shrinks_kernels_and_embeddings_but_not_norms_or_biases():
    model = arith.build_model(dataclasses.replace(CONFIG, weight_decay=0.5), rate=0.1)
    norms = {id(w) for layer in model.submodules
             if isinstance(layer, tf_keras.layers.LayerNormalization) for w in layer.weights}
    biases = {id(v) for v in model.trainable_variables if v.name.endswith("/bias:0")}
    for v in model.trainable_variables:  # non-zero everywhere, so that a decay would show
        v.assign(tf.ones_like(v))
    # All-zero gradients: only the decay moves a weight, by the factor 1 - rate * decay.
    model.optimizer.apply_gradients([(tf.zeros_like(v), v) for v in model.trainable_variables])
    kept = {id(v) for v in model.trainable_variables if np.all(v.numpy() == 1)}
    decayed = {id(v) for v in model.trainable_variables
               if np.allclose(v.numpy(), 1 - 0.1 * 0.5, rtol=1e-6)}
    assert norms and biases and decayed
    assert kept == norms | biases
    assert decayed == {id(v) for v in model.trainable_variables} - kept


def test_without_weight_decay_the_optimizer_is_plain_adam():
    assert type(arith.build_model(CONFIG).optimizer) is tf_keras.optimizers.Adam


def test_the_rate_warms_up_then_decays_to_zero_by_the_last_step():
    schedule = arith.learning_rate(dataclasses.replace(
        CONFIG, learning_rate=0.002, warmup_steps=100, train_steps=1100))
    rates = [float(schedule(step)) for step in (0, 50, 100, 600, 1100)]
    np.testing.assert_allclose(rates, [0, 0.001, 0.002, 0.001, 0], atol=1e-9)


def test_a_decay_share_holds_the_peak_rate_until_the_last_steps():
    schedule = arith.learning_rate(dataclasses.replace(
        CONFIG, learning_rate=0.002, warmup_steps=100, train_steps=1100, decay_share=0.4))
    # Warmup to step 100, the peak until step 700, then 400 steps of cosine decay.
    rates = [float(schedule(step)) for step in (0, 50, 100, 400, 700, 900, 1100, 1200)]
    np.testing.assert_allclose(rates, [0, 0.001, 0.002, 0.002, 0.002, 0.001, 0, 0], atol=1e-9)
    restored = type(schedule).from_config(schedule.get_config())
    assert float(restored(900)) == float(schedule(900))
