"""Transform module: tokenizes the samples and blanks the decoder's copy of the result.

Outputs per example:
  enc          defs SEP op SEP                      int64, variable length
  enc_problem  0, or UNKNOWN_CHARACTER | TOO_LONG  int64 (defs and op)
  tgt          res STP                              int64, variable length (not at serving)
  dec          tgt with some tokens blanked to SPC  int64, variable length (not at serving)
  tgt_problem  as enc_problem, for res              int64 (not at serving)

Blanking schedule (Mask-Predict style): serving starts from a fully blank result, so a
`full_blank_fraction` of the examples (half by default) are blanked completely; every
other example draws a rate r uniform in [0, 1) and blanks each token with probability r,
which teaches the refinement passes to complete partly known results. The randomness is
stateless, hashed from the example's own text, so a re-run transforms every example
identically and Transform's cache stays valid.
"""
from typing import Any, Dict

import tensorflow as tf

from modules import features, tokens

_HASH_BUCKETS = 1 << 24


def _uniform(keys: tf.Tensor, salt: str) -> tf.Tensor:
    """A reproducible uniform [0, 1) per key: the same key and salt always give the same."""
    hashed = tf.strings.to_hash_bucket_fast(tf.strings.join([keys, salt], separator="#"),
                                            _HASH_BUCKETS)
    return tf.cast(hashed, tf.float32) / _HASH_BUCKETS


def blank(tgt: tf.RaggedTensor, keys: tf.Tensor, full_blank_fraction: float) -> tf.RaggedTensor:
    """Replaces a reproducible random subset of each row's tokens with SPC."""
    fully = _uniform(keys, "full") < full_blank_fraction
    rate = tf.where(fully, 1.0, _uniform(keys, "rate"))
    row = tgt.value_rowids()
    position = tf.range(tf.size(tgt.flat_values, out_type=tf.int64)) - tf.gather(
        tgt.row_starts(), row)
    token_keys = tf.strings.join([tf.gather(keys, row), tf.strings.as_string(position)],
                                 separator="@")
    blanked = _uniform(token_keys, "token") < tf.gather(rate, row)
    return tgt.with_flat_values(
        tf.where(blanked, tf.constant(features.SPC, tf.int64), tgt.flat_values))


def _problem(unknown: tf.Tensor, length: tf.Tensor, width: int) -> tf.Tensor:
    none = tf.constant(0, tf.int64)
    return (tf.where(unknown, tf.constant(tokens.UNKNOWN_CHARACTER, tf.int64), none)
            | tf.where(length > width, tf.constant(tokens.TOO_LONG, tf.int64), none))


def _marked(ids: tf.RaggedTensor, token: int) -> tf.RaggedTensor:
    rows = ids.nrows()
    return tf.concat([ids, tf.RaggedTensor.from_tensor(
        tf.fill([rows, 1], tf.constant(token, tf.int64)))], axis=1)


def preprocessing_fn(inputs: Dict[str, Any], custom_config: Dict[str, Any]) -> Dict[str, Any]:
    """tf.Transform entry point; custom_config is the pipeline's ModelConfig as a dict."""
    width_enc = int(custom_config["width_enc"])
    width_dec = int(custom_config["width_dec"])
    defs, op = tokens.joined(inputs[features.DEFS]), tokens.joined(inputs[features.OP])
    defs_ids, defs_unknown = tokens.tokenize(defs)
    op_ids, op_unknown = tokens.tokenize(op)
    enc = _marked(tf.concat([_marked(defs_ids, features.SEP), op_ids], axis=1), features.SEP)
    outputs = {
        features.ENC: enc.to_sparse(),
        features.ENC_PROBLEM: _problem(defs_unknown | op_unknown, enc.row_lengths(), width_enc),
    }
    if features.RES in inputs:  # absent at serving: the label is what the model predicts
        res = tokens.joined(inputs[features.RES])
        res_ids, res_unknown = tokens.tokenize(res)
        tgt = _marked(res_ids, features.STP)
        keys = tf.strings.join([defs, op, res], separator=":")
        outputs.update({
            features.TGT: tgt.to_sparse(),
            features.DEC: blank(tgt, keys, float(custom_config["full_blank_fraction"])).to_sparse(),
            features.TGT_PROBLEM: _problem(res_unknown, tgt.row_lengths(), width_dec),
        })
    return outputs
