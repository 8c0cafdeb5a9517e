"""The exported SavedModel: raw tf.Examples in, decoded results out (and a labeled signature
for evaluation). Decoding is `modules.model.decode`: from a fully blank result, then
`refine_steps` passes; results are read in reading order whatever order the model writes."""
import dataclasses
import json
import os
from typing import Optional

import tensorflow as tf
from tf_keras.src.saving.legacy.saved_model import utils as keras_saving

from modules import features, model as model_lib, serving_contract, tokens

SERVING = serving_contract.SIGNATURE
EVALUATE = "evaluate"
TRANSFORM = "transform_features"

# Serving requests need only the expression; a character list or one whole string each.
_REQUEST_SPEC = {features.DEFS: tf.io.VarLenFeature(tf.string),
                 features.OP: tf.io.VarLenFeature(tf.string)}
_INTEGER = r"-?[0-9]+"
# Longest digit string that int64 holds whatever the digits; longer ones are out of range anyway.
_SAFE_DIGITS = 18

# Written beside the SavedModel's own files: what the model is and what it was trained on.
MODEL_INFO = os.path.join("assets.extra", "arith_model.json")
# A model is only warm-started from when these of its ModelConfig match: they shape the weights
# or change what the weights mean.
ARCHITECTURE = ("dim_batch", "dim_hidden", "dim_dense", "dim_heads", "dim_stacks", "width_enc",
                "width_dec", "reverse_result", "scale_tokens", "enc_layout", "place_positions",
                "loops")


def _operand_out_of_range(defs: tf.Tensor, max_val: int) -> tf.Tensor:
    """bool [B]: defs that follow the grammar and give x or y a magnitude above max_val."""
    valid = tf.strings.regex_full_match(defs, features.DEFS_GRAMMAR)
    safe = tf.where(valid, defs, "x=0,y=0")
    out = tf.zeros_like(valid)
    for name in ("x", "y"):
        digits = tf.strings.regex_replace(safe, f".*{name}=-?([0-9]+).*", r"\1")
        too_long = tf.strings.length(digits) > _SAFE_DIGITS
        value = tf.strings.to_number(tf.where(too_long, "0", digits), tf.int64)
        out |= too_long | (value > max_val)
    return valid & out


def _messages(conditions):
    """[(bool [B], message)] -> string [B]: the messages that hold, joined with '; '."""
    parts = tf.stack([tf.where(condition, message, "") for condition, message in conditions], 1)
    return tf.strings.reduce_join(
        tf.ragged.boolean_mask(parts, tf.strings.length(parts) > 0), axis=1, separator="; ")


class ArithmeticModule(tf.Module):
    """Holds the trained model and the Transform graph; its tf.functions are the signatures."""

    def __init__(self, model, tft_output, config, max_val: int):
        super().__init__(name="arith")
        self.model = model
        self.tft_layer = tft_output.transform_features_layer()
        self._raw_spec = tft_output.raw_feature_spec()
        self._width_enc, self._width_dec = config.width_enc, config.width_dec
        self._refine_steps = config.refine_steps
        self._sequential = config.blanking == "prefix"
        self._reverse = config.reverse_result
        self._max_val = max_val

    def decode(self, enc: tf.RaggedTensor):
        return model_lib.decode(self.model, enc, self._width_dec, self._refine_steps,
                                self._sequential)

    def _answer_confidence(self, ids, confidence):
        """Product of the token probabilities up to and including the first STP."""
        positions = tf.range(self._width_dec, dtype=tf.int64)[None, :]
        is_stop = tf.equal(ids, features.STP)
        first_stop = tf.where(tf.reduce_any(is_stop, 1), tf.argmax(tf.cast(is_stop, tf.int64), 1),
                              self._width_dec - 1)
        used = positions <= first_stop[:, None]
        return tf.reduce_prod(tf.where(used, confidence, 1.0), axis=1)

    # The signatures branch only on Python values: traced as written, without AutoGraph (see
    # modules/layers.py, without_autograph).
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string,
                                                 name=serving_contract.INPUT)], autograph=False)
    def serve(self, examples):
        """Serialized tf.Examples with `defs` and `op` -> `res`, `confidence`, `error`.

        A request that cannot be answered gets an empty `res`, confidence 0 and an `error`
        naming the problem; the other requests in the batch are answered as usual.
        """
        parsed = tf.io.parse_example(examples, _REQUEST_SPEC)
        defs, op = tokens.joined(parsed[features.DEFS]), tokens.joined(parsed[features.OP])
        transformed = self.tft_layer(parsed)
        problem = transformed[features.ENC_PROBLEM]
        ids, confidence = self.decode(tf.RaggedTensor.from_sparse(transformed[features.ENC]))
        res = tokens.detokenize(ids, self._reverse)
        contract = serving_contract
        error = _messages([
            (tf.strings.length(defs) == 0, contract.MISSING_DEFS),
            (tf.strings.length(op) == 0, contract.MISSING_OP),
            (tf.bitwise.bitwise_and(problem, tokens.UNKNOWN_CHARACTER) > 0,
             contract.UNKNOWN_CHARACTER),
            (tf.bitwise.bitwise_and(problem, tokens.TOO_LONG) > 0,
             contract.too_long(self._width_enc)),
            ((tf.strings.length(defs) > 0)
             & ~tf.strings.regex_full_match(defs, features.DEFS_GRAMMAR), contract.BAD_DEFS),
            ((tf.strings.length(op) > 0) & ~tf.strings.regex_full_match(op, features.OP_GRAMMAR),
             contract.BAD_OP),
            (_operand_out_of_range(defs, self._max_val), contract.out_of_range(self._max_val)),
        ])
        failed = tf.strings.length(error) > 0
        answered = ~failed & tf.strings.regex_full_match(res, _INTEGER)
        error = tf.where(failed | answered, error, contract.NO_INTEGER)
        return {contract.RES: tf.where(failed, "", res),
                contract.CONFIDENCE: tf.where(answered,
                                              self._answer_confidence(ids, confidence), 0.0),
                contract.ERROR: error}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")],
                 autograph=False)
    def transform_features(self, examples):
        """Labeled serialized tf.Examples -> the transformed features (for evaluation)."""
        return self.tft_layer(tf.io.parse_example(examples, self._raw_spec))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")],
                 autograph=False)
    def evaluate(self, examples):
        """Labeled serialized tf.Examples -> decoded ids, labels and per-example scores."""
        transformed = self.tft_layer(tf.io.parse_example(examples, self._raw_spec))
        enc = tf.RaggedTensor.from_sparse(transformed[features.ENC])
        labels = model_lib.pad_labels(tf.RaggedTensor.from_sparse(transformed[features.TGT]),
                                      self._width_dec)
        ids, _ = self.decode(enc)
        logits = self.model(model_lib.serving_inputs(enc), training=False)
        # Scored as served: the tokens up to the first STP, which is all serving returns; token
        # accuracy counts the label's own positions (its tokens and its STP), not the padding.
        exact = tf.equal(tokens.detokenize(ids, self._reverse),
                         tokens.detokenize(labels, self._reverse))
        in_label = tf.cast(tf.sequence_mask(tokens.until_stop(labels).row_lengths() + 1,
                                             self._width_dec), tf.float32)
        label_positions = tf.reduce_sum(in_label, axis=1)
        correct = tf.cast(tf.equal(ids, labels), tf.float32) * in_label
        # Both scores are means over the label's own positions (its tokens and STP): the
        # padding after the STP is easy, and would make a wider model look better.
        cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                       logits=logits)
        return {
            "ids": ids,
            "labels": labels,
            "exact_match": tf.cast(exact, tf.float32),
            "token_accuracy": tf.reduce_sum(correct, axis=1) / label_positions,
            "loss": tf.reduce_sum(cross_entropy * in_label, axis=1) / label_positions,
        }


def save(model, tft_output, config, directory: str, max_val: int) -> None:
    """Writes the SavedModel and, in its assets.extra, the model config and operand range."""
    module = ArithmeticModule(model, tft_output, config, max_val)
    # Everything that loads this model calls its signatures. Keras would otherwise trace every
    # layer's call functions into the SavedModel too, for calling the restored Keras objects,
    # which nothing does: about 6 s of a tiny Trainer's 23 s (medians 22.7 s and 16.4 s). The
    # object graph of the variables still matches the model's, which is what warm_start reads.
    # (A private module: tf-keras is pinned in constraints.txt.)
    with keras_saving.keras_option_scope(save_traces=False):
        tf.saved_model.save(module, directory, signatures={
            SERVING: module.serve.get_concrete_function(),
            EVALUATE: module.evaluate.get_concrete_function(),
            TRANSFORM: module.transform_features.get_concrete_function(),
        })
    write_info(directory, config, max_val)


def write_info(directory: str, config, max_val: int) -> None:
    """Records beside a SavedModel what it is (its ModelConfig) and its operand range."""
    info = {"model": dataclasses.asdict(config), "max_val": max_val}
    tf.io.gfile.makedirs(os.path.join(directory, os.path.dirname(MODEL_INFO)))
    with tf.io.gfile.GFile(os.path.join(directory, MODEL_INFO), "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)


def read_info(directory: str) -> dict:
    """What `save` recorded beside a SavedModel ({} for a model without the record)."""
    path = os.path.join(directory, MODEL_INFO)
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def cannot_start_from(directory: Optional[str], config) -> str:
    """Why the weights of the SavedModel in `directory` (a pushed model) do not fit a model of
    `config` ("" when they do)."""
    if not directory:
        return "no pushed model to start from"
    theirs = read_info(directory).get("model", {})
    if not theirs:
        return "the last pushed model does not record its dimensions"
    changed = [f"{key} {theirs.get(key)} -> {getattr(config, key)}" for key in ARCHITECTURE
               if theirs.get(key) != getattr(config, key)]
    if changed:
        return "the last pushed model's dimensions differ (" + ", ".join(changed) + ")"
    return ""
