"""The exported SavedModel: raw tf.Examples in, decoded results out (and a labeled signature
for evaluation). Decoding starts from a fully blank result and re-masks the least confident
tokens for `refine_steps` passes (Mask-Predict)."""
import tensorflow as tf

from modules import features, model as model_lib, tokens

SERVING = "serving_default"
EVALUATE = "evaluate"
TRANSFORM = "transform_features"

# Serving requests need only the expression; a character list or one whole string each.
_REQUEST_SPEC = {features.DEFS: tf.io.VarLenFeature(tf.string),
                 features.OP: tf.io.VarLenFeature(tf.string)}
_DEFS_GRAMMAR = r"x=-?[0-9]+,y=-?[0-9]+|y=-?[0-9]+,x=-?[0-9]+"
_OP_GRAMMAR = r"[xy][-+*][xy]"
_INTEGER = r"-?[0-9]+"


def _messages(conditions):
    """[(bool [B], message)] -> string [B]: the messages that hold, joined with '; '."""
    parts = tf.stack([tf.where(condition, message, "") for condition, message in conditions], 1)
    return tf.strings.reduce_join(
        tf.ragged.boolean_mask(parts, tf.strings.length(parts) > 0), axis=1, separator="; ")


class ArithmeticModule(tf.Module):
    """Holds the trained model and the Transform graph; its tf.functions are the signatures."""

    def __init__(self, model, tft_output, config):
        super().__init__(name="arith")
        self.model = model
        self.tft_layer = tft_output.transform_features_layer()
        self._raw_spec = tft_output.raw_feature_spec()
        self._width_enc, self._width_dec = config.width_enc, config.width_dec
        self._refine_steps = config.refine_steps

    def decode(self, enc: tf.RaggedTensor):
        """Token ids [B, width_dec] and their probabilities, from a fully blank start."""
        probabilities = tf.nn.softmax(
            self.model(model_lib.serving_inputs(enc), training=False), axis=-1)
        ids, confidence = tf.argmax(probabilities, -1), tf.reduce_max(probabilities, -1)
        for step in range(self._refine_steps):
            count = self._width_dec * (self._refine_steps - step) // (self._refine_steps + 1)
            if count == 0:
                break
            _, least_sure = tf.math.top_k(-confidence, k=count)
            remask = tf.reduce_any(tf.one_hot(least_sure, self._width_dec, on_value=True,
                                              off_value=False, dtype=tf.bool), axis=1)
            dec = tf.where(remask, tf.constant(features.SPC, tf.int64), ids)
            probabilities = tf.nn.softmax(self.model(
                model_lib.serving_inputs(enc, tf.RaggedTensor.from_tensor(dec)),
                training=False), axis=-1)
            ids = tf.where(remask, tf.argmax(probabilities, -1), ids)
            confidence = tf.where(remask, tf.reduce_max(probabilities, -1), confidence)
        return ids, confidence

    def _answer_confidence(self, ids, confidence):
        """Product of the token probabilities up to and including the first STP."""
        positions = tf.range(self._width_dec, dtype=tf.int64)[None, :]
        is_stop = tf.equal(ids, features.STP)
        first_stop = tf.where(tf.reduce_any(is_stop, 1), tf.argmax(tf.cast(is_stop, tf.int64), 1),
                              self._width_dec - 1)
        used = positions <= first_stop[:, None]
        return tf.reduce_prod(tf.where(used, confidence, 1.0), axis=1)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
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
        res = tokens.detokenize(ids)
        error = _messages([
            (tf.strings.length(defs) == 0, "missing defs"),
            (tf.strings.length(op) == 0, "missing op"),
            (tf.bitwise.bitwise_and(problem, tokens.UNKNOWN_CHARACTER) > 0,
             "unknown character (allowed: x y = , + - * and digits)"),
            (tf.bitwise.bitwise_and(problem, tokens.TOO_LONG) > 0,
             f"expression longer than {self._width_enc} tokens"),
            ((tf.strings.length(defs) > 0) & ~tf.strings.regex_full_match(defs, _DEFS_GRAMMAR),
             "defs must define x and y, as x=A,y=B"),
            ((tf.strings.length(op) > 0) & ~tf.strings.regex_full_match(op, _OP_GRAMMAR),
             "op must be x<o>y or y<o>x with o one of + - *"),
        ])
        failed = tf.strings.length(error) > 0
        answered = ~failed & tf.strings.regex_full_match(res, _INTEGER)
        error = tf.where(failed | answered, error, "the model gave no integer")
        return {"res": tf.where(failed, "", res),
                "confidence": tf.where(answered, self._answer_confidence(ids, confidence), 0.0),
                "error": error}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(self, examples):
        """Labeled serialized tf.Examples -> the transformed features (for evaluation)."""
        return self.tft_layer(tf.io.parse_example(examples, self._raw_spec))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def evaluate(self, examples):
        """Labeled serialized tf.Examples -> decoded ids, labels and per-example scores."""
        transformed = self.tft_layer(tf.io.parse_example(examples, self._raw_spec))
        enc = tf.RaggedTensor.from_sparse(transformed[features.ENC])
        labels = model_lib.pad_labels(tf.RaggedTensor.from_sparse(transformed[features.TGT]),
                                      self._width_dec)
        ids, _ = self.decode(enc)
        logits = self.model(model_lib.serving_inputs(enc), training=False)
        correct = tf.cast(tf.equal(ids, labels), tf.float32)
        return {
            "ids": ids,
            "labels": labels,
            "exact_match": tf.reduce_min(correct, axis=1),
            "token_accuracy": tf.reduce_mean(correct, axis=1),
            "loss": tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=logits), axis=1),
        }


def save(model, tft_output, config, directory: str) -> None:
    module = ArithmeticModule(model, tft_output, config)
    tf.saved_model.save(module, directory, signatures={
        SERVING: module.serve.get_concrete_function(),
        EVALUATE: module.evaluate.get_concrete_function(),
        TRANSFORM: module.transform_features.get_concrete_function(),
    })
