"""Builds and compiles the sliding-context arithmetic model from a ModelConfig."""
import tensorflow as tf
import tf_keras

from modules import layers
from modules.features import DEC, ENC, SPC, TGT, VOCAB


def pad_labels(tgt, width_dec):
    """Labels int64 [B, width_dec]: each ragged tgt row (result tokens, STP) padded with SPC."""
    tgt = tf.cast(tgt, tf.int64)
    check = tf.debugging.assert_less_equal(
        tgt.row_lengths(), tf.constant(width_dec, tf.int64),
        message=f"pad_labels: every tgt row must have at most width_dec={width_dec} tokens; "
                f"received tgt row lengths")
    with tf.control_dependencies([check]):
        return tgt.to_tensor(default_value=SPC, shape=[None, width_dec])


def serving_inputs(enc, dec=None):
    """Model inputs for prediction: dec defaults to all blanks, tgt is empty (it is unknown)."""
    enc = tf.cast(enc, tf.int64)
    empty = tf.RaggedTensor.from_row_lengths(tf.zeros([0], tf.int64),
                                             tf.zeros([enc.nrows()], tf.int64))
    return {ENC: enc, DEC: empty if dec is None else tf.cast(dec, tf.int64), TGT: empty}


def learning_rate(config):
    """Linear warmup from 0 to learning_rate, then cosine decay to 0 by train_steps."""
    return tf_keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=max(config.train_steps - config.warmup_steps, 1),
        warmup_target=config.learning_rate, warmup_steps=config.warmup_steps)


def build_model(config):
    """Ragged int64 inputs {enc, dec, tgt} [B, None] -> logits [B, width_dec, len(VOCAB)]."""
    c = config
    inputs = {key: tf_keras.Input(shape=(None,), ragged=True, dtype=tf.int64, name=key)
              for key in (ENC, DEC, TGT)}
    ye, enc_len, yd, _ = layers.Frames(c.dim_batch, c.width_enc, c.width_dec, c.context_drop,
                                       name="frames")(inputs[ENC], inputs[DEC], inputs[TGT])
    embed = layers.Embed(len(VOCAB), c.dim_hidden, c.width_enc, c.width_dec, name="embed")
    stacks = dict(dim_stacks=c.dim_stacks, dim_hidden=c.dim_hidden, dim_heads=c.dim_heads,
                  dim_dense=c.dim_dense, dropout=c.dropout)
    xe = layers.Encode(**stacks, name="encode")(embed(ye, stream="enc"), enc_len)
    xd = layers.Decode(**stacks, name="decode")(embed(yd, stream="dec"), xe, enc_len)
    logits = layers.Debed(len(VOCAB), name="debed")(xd)
    model = tf_keras.Model(inputs=inputs, outputs=logits, name="arith")
    model.compile(
        optimizer=tf_keras.optimizers.Adam(learning_rate(c)),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[tf_keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")])
    return model
