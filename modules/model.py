"""Builds and compiles the sliding-context arithmetic model from a ModelConfig."""
import dataclasses
from typing import List

import tensorflow as tf
import tf_keras

from modules import hints, layers
from modules.features import DEC, ENC, HINTS, LARGER, SPC, TGT, VOCAB

# Classes of the Hints layer: carries 0 .. HINT_CLASSES - 1 (larger ones are clipped; a
# product of two 9-digit operands carries at most 80 into a place).
HINT_CLASSES = 96


@dataclasses.dataclass(frozen=True)
class Head:
    """A training-only Hints layer: its name, its label feature (modules/hints.py) and classes,
    and the weight of its loss."""
    name: str
    feature: str
    classes: int
    weight: float


def training_heads(config) -> List[Head]:
    """The training-only heads a config asks for, in the order of the model's outputs after
    the result."""
    heads = [Head("hints", HINTS, HINT_CLASSES, config.hint_weight),
             Head("larger", LARGER, hints.LARGER_CLASSES, config.larger_weight)]
    return [head for head in heads if head.weight]


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


def decode(model, enc, width_dec, refine_steps, sequential=False):
    """Token ids [B, width_dec] and their probabilities, from a fully blank result.

    Then `refine_steps` more passes. Mask-Predict (sequential False): each pass blanks the least
    confident positions again (fewer each pass) and predicts them anew with the rest known.
    Sequential: pass j keeps positions 0..j as predicted and predicts the rest again, so each
    position is decided knowing the ones before it.
    """
    probabilities = tf.nn.softmax(model(serving_inputs(enc), training=False), axis=-1)
    ids, confidence = tf.argmax(probabilities, -1), tf.reduce_max(probabilities, -1)
    for step in range(refine_steps):
        if sequential:
            if step >= width_dec - 1:
                break
            remask = tf.range(width_dec)[None, :] > step
            remask = tf.broadcast_to(remask, tf.shape(ids))
        else:
            count = width_dec * (refine_steps - step) // (refine_steps + 1)
            if count == 0:
                break
            _, least_sure = tf.math.top_k(-confidence, k=count)
            remask = tf.reduce_any(tf.one_hot(least_sure, width_dec, on_value=True,
                                              off_value=False, dtype=tf.bool), axis=1)
        dec = tf.where(remask, tf.constant(SPC, tf.int64), ids)
        probabilities = tf.nn.softmax(
            model(serving_inputs(enc, tf.RaggedTensor.from_tensor(dec)), training=False), axis=-1)
        ids = tf.where(remask, tf.argmax(probabilities, -1), ids)
        confidence = tf.where(remask, tf.reduce_max(probabilities, -1), confidence)
    return ids, confidence


def for_serving(model, config):
    """The model as served: result logits only (no training-only Hints outputs), in float32 (a
    copy with the same weights when it was trained in mixed precision), so that serving and
    evaluation are exact and independent of the batch size."""
    if config.precision != "float32":
        copy = build_model(dataclasses.replace(config, precision="float32"))
        copy.set_weights(model.get_weights())
        model = copy
    return result_only(model)


def result_only(model):
    """The model without its training-only Hints outputs: the same layers and weights, so that
    it saves (and a saved one restores into it) as a model that never had the head."""
    if len(model.outputs) == 1:
        return model
    return ArithModel(inputs=model.inputs, outputs=model.outputs[0], name=model.name)


def learning_rate(config):
    """Linear warmup from 0 to learning_rate, then cosine decay to 0 by train_steps; with
    config.decay_share below 1, the rate holds at learning_rate until the last decay_share of
    the steps after warmup, and decays (cosine) to 0 in those."""
    after_warmup = max(config.train_steps - config.warmup_steps, 1)
    decay_steps = max(round(after_warmup * config.decay_share), 1)
    cosine = tf_keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=decay_steps,
        warmup_target=config.learning_rate, warmup_steps=config.warmup_steps)
    hold_steps = after_warmup - decay_steps
    return HeldAtPeak(cosine, config.warmup_steps, hold_steps) if hold_steps > 0 else cosine


@layers.register
class HeldAtPeak(tf_keras.optimizers.schedules.LearningRateSchedule):
    """A warmup schedule whose clock stops for hold_steps at the end of its warmup, its peak."""

    def __init__(self, schedule, warmup_steps, hold_steps):
        self.schedule = schedule
        self.warmup_steps = warmup_steps
        self.hold_steps = hold_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        return self.schedule(step - tf.clip_by_value(step - self.warmup_steps, 0.0,
                                                     float(self.hold_steps)))

    def get_config(self):
        return {"schedule": tf_keras.optimizers.schedules.serialize(self.schedule),
                "warmup_steps": self.warmup_steps, "hold_steps": self.hold_steps}

    @classmethod
    def from_config(cls, config):
        return cls(**{**config, "schedule": tf_keras.optimizers.schedules.deserialize(
            config["schedule"])})


def optimizer(config, rate):
    """Adam, or AdamW when config.weight_decay is set (norms and biases not decayed)."""
    clip = config.clip_norm or None
    if not config.weight_decay:
        return tf_keras.optimizers.Adam(rate, global_clipnorm=clip)
    adamw = tf_keras.optimizers.AdamW(rate, weight_decay=config.weight_decay,
                                      global_clipnorm=clip)
    # By variable name: every LayerNormalization in modules/layers.py is named "norm", and
    # Dense and EinsumDense name their bias "bias" (tests/model_test.py checks both).
    adamw.exclude_from_weight_decay(var_names=["norm", "bias"])
    return adamw


@layers.register
class ArithModel(tf_keras.Model):
    """The functional model; its training and evaluation steps are traced without AutoGraph."""

    @layers.without_autograph
    def train_step(self, data):
        return super().train_step(data)

    @layers.without_autograph
    def test_step(self, data):
        return super().test_step(data)


def build_model(config, rate=None):
    """Ragged int64 inputs {enc, dec, tgt} [B, None] -> logits [B, width_dec, len(VOCAB)].

    rate: the optimizer's learning rate, a float or a schedule; by default warmup then cosine
    decay over config.train_steps.
    """
    c = config
    # Layers take their dtype policy when they are built: set it first, for this model.
    tf_keras.mixed_precision.set_global_policy(c.precision)
    inputs = {key: tf_keras.Input(shape=(None,), ragged=True, dtype=tf.int64, name=key)
              for key in (ENC, DEC, TGT)}
    ye, enc_len, yd, _ = layers.Frames(c.dim_batch, c.width_enc, c.width_dec, c.context_drop,
                                       name="frames")(inputs[ENC], inputs[DEC], inputs[TGT])
    embed = layers.Embed(len(VOCAB), c.dim_hidden, c.width_enc, c.width_dec,
                         scale_tokens=c.scale_tokens, place_positions=c.place_positions,
                         name="embed")
    stacks = dict(dim_stacks=c.dim_stacks, dim_hidden=c.dim_hidden, dim_heads=c.dim_heads,
                  dim_dense=c.dim_dense, dropout=c.dropout, loops=c.loops)
    xe = layers.Encode(**stacks, name="encode")(embed(ye, stream="enc"), enc_len)
    xd = layers.Decode(**stacks, name="decode")(embed(yd, stream="dec"), xe, enc_len)
    result = layers.Debed(len(VOCAB), name="debed")(xd)
    heads = training_heads(c)
    model = ArithModel(
        inputs=inputs, name="arith",
        outputs=[result] + [layers.Hints(head.classes, name=head.name)(xd) for head in heads]
        if heads else result)
    tf_keras.mixed_precision.set_global_policy("float32")
    cross_entropy = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    token_accuracy = tf_keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")
    model.compile(
        optimizer=optimizer(c, learning_rate(c) if rate is None else rate),
        loss=[cross_entropy] * (1 + len(heads)) if heads else cross_entropy,
        loss_weights=[1.0] + [head.weight for head in heads] if heads else None,
        metrics=[[token_accuracy]] + [[] for _ in heads] if heads else [token_accuracy])
    return model
