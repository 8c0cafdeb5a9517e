"""Tests of the sliding-context layers: Frames' context, attention masking, configs, errors."""
import inspect

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from modules import layers
from modules.features import SPC, TOKEN_OF


def tok(text):
    return [TOKEN_OF[ch] for ch in text]


def ragged(rows):
    return tf.ragged.constant(rows, dtype=tf.int64, ragged_rank=1)


def pad_left(tokens, width):
    return [SPC] * (width - len(tokens)) + tokens


# Two rows per batch, three consecutive batches; ":" is SEP and "|" is STP.
ENCS = [["x=1,y=2:x+y:", "x=-5,y=7:x*y:"],
        ["x=4,y=3:x-y:", "x=6,y=0:y:"],
        ["x=9,y=9:x+y:", "x=2,y=-2:x-y:"]]
TGTS = [["3|", "-35|"], ["1|", "0|"], ["18|", "4|"]]


def batch(step):
    enc, tgt = ragged([tok(s) for s in ENCS[step]]), ragged([tok(s) for s in TGTS[step]])
    return enc, tgt, tgt


def state(frames):
    return frames.prev.numpy().copy(), frames.prev_len.numpy().copy()


def test_frames_carries_inputs_and_results_in_order():
    width = 40
    frames = layers.Frames(dim_batch=2, width_enc=width, width_dec=5, context_drop=0.0)
    ye, enc_len, yd, dec_len = frames(*batch(0), training=True)
    for row in range(2):
        assert ye[row].numpy().tolist() == pad_left(tok(ENCS[0][row]), width)
        assert enc_len[row] == len(ENCS[0][row])
        assert yd[row].numpy().tolist() == tok(TGTS[0][row]) + [SPC] * (5 - len(TGTS[0][row]))
        assert dec_len[row] == len(TGTS[0][row])

    ye, enc_len, _, _ = frames(*batch(1), training=True)
    for row in range(2):
        seen = ENCS[0][row] + TGTS[0][row] + ENCS[1][row]
        assert ye[row].numpy().tolist() == pad_left(tok(seen), width)
        assert enc_len[row] == len(seen)
    prev, prev_len = state(frames)
    for row in range(2):
        held = ENCS[0][row] + TGTS[0][row] + ENCS[1][row] + TGTS[1][row]
        assert prev[row].tolist() == pad_left(tok(held), width)
        assert prev_len[row] == len(held)


def test_frames_window_drops_oldest_tokens():
    width = 20
    frames = layers.Frames(dim_batch=2, width_enc=width, width_dec=5, context_drop=0.0)
    for step in range(3):
        ye, enc_len, _, _ = frames(*batch(step), training=True)
    for row in range(2):
        history = "".join(ENCS[s][row] + TGTS[s][row] for s in range(2)) + ENCS[2][row]
        assert len(history) > width
        assert ye[row].numpy().tolist() == tok(history[-width:])
        assert enc_len[row] == width
    prev, prev_len = state(frames)
    assert prev_len.tolist() == [width, width]
    held = "".join(ENCS[s][0] + TGTS[s][0] for s in range(3))
    assert prev[0].tolist() == tok(held[-width:])


def test_frames_context_drop_one_turns_the_context_off():
    frames = layers.Frames(dim_batch=2, width_enc=40, width_dec=5, context_drop=1.0, seed=3)
    frames(*batch(0), training=True)
    ye, enc_len, _, _ = frames(*batch(1), training=True)
    for row in range(2):
        assert ye[row].numpy().tolist() == pad_left(tok(ENCS[1][row]), 40)
        assert enc_len[row] == len(ENCS[1][row])
    _, prev_len = state(frames)
    assert prev_len.tolist() == [0, 0], "nothing is written when no row may read it"


@pytest.mark.parametrize("rows,training", [(2, False), (2, None), (1, False), (6, False),
                                           (1, True), (6, True)])
def test_frames_without_state_sees_no_context_and_keeps_state(rows, training):
    frames = layers.Frames(dim_batch=2, width_enc=30, width_dec=5, context_drop=0.0)
    frames(*batch(0), training=True)
    before = state(frames)
    texts = (ENCS[1] * 3)[:rows]
    enc = ragged([tok(s) for s in texts])
    empty = ragged([[] for _ in texts])
    ye, enc_len, yd, dec_len = frames(enc, empty, empty, training=training)
    assert ye.shape == (rows, 30) and yd.shape == (rows, 5)
    assert ye.numpy().tolist() == [pad_left(tok(s), 30) for s in texts]
    assert enc_len.numpy().tolist() == [len(s) for s in texts]
    assert dec_len.numpy().tolist() == [0] * rows and not yd.numpy().any()
    after = state(frames)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])


def test_frames_in_tf_function_checks_batch_size_at_run_time():
    frames = layers.Frames(dim_batch=2, width_enc=30, width_dec=5, context_drop=0.0)
    spec = tf.RaggedTensorSpec([None, None], tf.int64, ragged_rank=1)
    step = tf.function(lambda e, d, t: frames(e, d, t, training=True)[0],
                       input_signature=[spec] * 3)
    step(*batch(0))
    single = ragged([tok(ENCS[1][0])])
    assert step(single, single[:, :0], single[:, :0])[0].numpy().tolist() == pad_left(
        tok(ENCS[1][0]), 30)
    ye = step(*batch(1))
    assert ye[0].numpy().tolist() == pad_left(tok(ENCS[0][0] + TGTS[0][0] + ENCS[1][0]), 30)


def test_frames_rejects_dec_longer_than_width_dec():
    frames = layers.Frames(dim_batch=2, width_enc=30, width_dec=3, context_drop=0.0)
    enc, _, tgt = batch(0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="width_dec=3"):
        frames(enc, tgt, tgt, training=False)


def _stacks(**overrides):
    kw = dict(dim_stacks=2, dim_hidden=16, dim_heads=2, dim_dense=32, dropout=0.0)
    return {**kw, **overrides}


def test_encoder_ignores_padded_tokens():
    width = 12
    embed = layers.Embed(20, 16, width, 4)
    encode = layers.Encode(**_stacks())
    tokens = np.array([pad_left(tok("x=1:x:"), width), pad_left(tok("y=27,x=3:y:"), width)])
    enc_len = tf.constant([6, 11], tf.int64)
    noisy = tokens.copy()
    noisy[0, :6] = tok("9*9-9+")
    noisy[1, :1] = TOKEN_OF["7"]
    base = encode(embed(tokens, stream="enc"), enc_len).numpy()
    other = encode(embed(noisy, stream="enc"), enc_len).numpy()
    np.testing.assert_allclose(base[0, 6:], other[0, 6:], atol=1e-5)
    np.testing.assert_allclose(base[1, 1:], other[1, 1:], atol=1e-5)
    # Changing a valid token does change the valid outputs, so the comparison above can fail.
    noisy[0, 6] = TOKEN_OF["y"]
    changed = encode(embed(noisy, stream="enc"), enc_len).numpy()
    assert np.abs(changed[0, 7:] - base[0, 7:]).max() > 1e-3


def test_decoder_ignores_padded_encoder_positions():
    decode = layers.Decode(**_stacks())
    x = tf.random.normal([2, 4, 16], seed=1)
    ye = tf.random.normal([2, 10, 16], seed=2)
    enc_len = tf.constant([3, 10], tf.int64)
    pad = tf.cast(~layers.window_mask(enc_len, 10), tf.float32)[:, :, None]
    noisy = ye + 5.0 * pad * tf.random.normal([2, 10, 16], seed=3)
    base = decode(x, ye, enc_len).numpy()
    np.testing.assert_allclose(base, decode(x, noisy, enc_len).numpy(), atol=1e-5)
    assert np.abs(base - decode(x, ye, tf.constant([4, 10], tf.int64)).numpy())[0].max() > 1e-3


def test_attention_with_no_valid_key_only_keeps_the_residual():
    attention = layers.Attention(16, 4)
    query = tf.random.normal([1, 3, 16], seed=4)
    out = attention(query, tf.random.normal([1, 5, 16], seed=5), mask=tf.zeros([1, 5], tf.bool))
    np.testing.assert_allclose(out.numpy(), query.numpy() + attention.out.bias.numpy(), atol=1e-6)


@pytest.mark.parametrize("layer", [
    layers.Frames(dim_batch=3, width_enc=17, width_dec=5, context_drop=0.25, seed=7, name="f"),
    layers.Embed(vocab_size=21, dim_hidden=12, width_enc=17, width_dec=5),
    layers.Embed(vocab_size=21, dim_hidden=12, width_enc=17, width_dec=5, place_positions=True),
    layers.Attention(dim_hidden=12, dim_heads=3, dropout=0.1),
    layers.Conclusion(dim_hidden=12, dim_dense=24, dropout=0.2),
    layers.Encoder(dim_hidden=12, dim_heads=3, dim_dense=24, dropout=0.1),
    layers.Decoder(dim_hidden=12, dim_heads=3, dim_dense=24, dropout=0.1),
    layers.Encode(dim_stacks=3, dim_hidden=12, dim_heads=3, dim_dense=24, dropout=0.1),
    layers.Decode(dim_stacks=3, dim_hidden=12, dim_heads=3, dim_dense=24, dropout=0.1),
    layers.Decode(dim_stacks=1, dim_hidden=12, dim_heads=3, dim_dense=24, loops=3),
    layers.Debed(vocab_size=21),
    layers.Hints(classes=96),
], ids=lambda layer: type(layer).__name__)
def test_get_config_round_trips(layer):
    config = layer.get_config()
    args = set(inspect.signature(type(layer).__init__).parameters) - {"self", "kwargs"}
    assert args <= set(config)
    restored = tf_keras.layers.deserialize(tf_keras.layers.serialize(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == config


def test_digit_places_count_from_the_end_of_each_number():
    windows = [pad_left(tok("x=  -5,y=1234:y*x:"), 20), pad_left(tok("y=12,x=3:x+y:"), 20)]
    places = layers.digit_places(tf.constant(windows)).numpy().tolist()
    shown = ["".join(str(p) if p else "." for p in row) for row in places]
    # 1 + the place (ones, tens, ...) of each digit, 0 elsewhere (signs and SPC included).
    assert shown == ["." * 7 + "1" + "..." + "4321" + "." * 5,
                     "." * 9 + "21" + "..." + "1" + "." * 5]


def test_place_positions_tie_result_position_k_to_the_digits_of_place_k():
    embed = layers.Embed(vocab_size=20, dim_hidden=8, width_enc=8, width_dec=4,
                         scale_tokens=False, place_positions=True)
    enc = tf.constant([pad_left(tok("x=7,y=5:"), 8)])
    embedded = embed(enc, stream="enc")
    dec = embed(tf.zeros([1, 4], tf.int64), stream="dec")
    ones = embed.place[1].numpy()
    # The ones digits (7 and 5) and result position 0 all carry the ones' place vector.
    for vector, token, position in ((embedded[0, 2], tok("7")[0], 2),
                                    (embedded[0, 6], tok("5")[0], 6)):
        np.testing.assert_allclose(vector.numpy(), embed.emb[token].numpy()
                                   + embed.pos_enc[position].numpy() + ones, atol=1e-6)
    np.testing.assert_allclose(dec[0, 0].numpy(), embed.emb[SPC].numpy()
                               + embed.pos_dec[0].numpy() + ones, atol=1e-6)


def test_loops_run_the_same_blocks_again_on_the_input_added_back():
    once = layers.Decode(dim_stacks=1, dim_hidden=8, dim_heads=2, dim_dense=16, loops=1)
    twice = layers.Decode(dim_stacks=1, dim_hidden=8, dim_heads=2, dim_dense=16, loops=2)
    x, ye = tf.random.normal([2, 3, 8], seed=1), tf.random.normal([2, 5, 8], seed=2)
    lens = tf.constant([5, 2], tf.int64)
    first = once(x, ye, lens)
    twice(x, ye, lens)
    twice.set_weights(once.get_weights())  # the same weights: a loop adds none
    assert len(twice.weights) == len(once.weights)
    expected = once.decs[0](first + x, ye, ctx_mask=layers.window_mask(lens, 5))
    np.testing.assert_allclose(twice(x, ye, lens).numpy(), expected.numpy(), atol=1e-5)


def test_settings_errors_name_the_values():
    with pytest.raises(ValueError, match="loops=0"):
        layers.Encode(dim_stacks=1, dim_hidden=8, dim_heads=2, dim_dense=16, loops=0)
    with pytest.raises(ValueError, match="classes=1"):
        layers.Hints(classes=1)
    with pytest.raises(ValueError, match="dim_heads=3.*dim_hidden=16"):
        layers.Attention(16, 3)
    with pytest.raises(ValueError, match="context_drop=1.5"):
        layers.Frames(2, 10, 4, context_drop=1.5)
    with pytest.raises(ValueError, match="stream='tgt'"):
        layers.Embed(20, 8, 10, 4)(tf.zeros([1, 4], tf.int64), stream="tgt")
