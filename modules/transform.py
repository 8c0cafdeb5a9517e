"""Transform module: tokenizes the samples and blanks the decoder's copy of the result.

Outputs per example:
  enc          defs SEP op SEP                      int64, variable length; defs laid out
                                                    as enc_layout says (see `aligned`)
  enc_problem  0, or UNKNOWN_CHARACTER | TOO_LONG  int64 (defs and op)
  tgt          res STP                              int64, variable length (not at serving);
                                                    res reversed if reverse_result
  dec          tgt with some tokens blanked to SPC  int64, variable length (not at serving)
  tgt_problem  as enc_problem, for res              int64 (not at serving)
  hints        the carry into each result place     int64 [width_dec] (not at serving;
               (modules/hints.py)                   read only when model.hint_weight > 0)
  larger       which term of a sum of opposite      int64 [width_dec] (not at serving;
               signs is larger (modules/hints.py)   read only when model.larger_weight > 0)

Blanking: serving starts from a fully blank result, so a `full_blank_fraction` of the
examples are blanked completely. The others follow `blanking`:
  "random"  (Mask-Predict) a rate r uniform in [0, 1), each token blanked with probability r;
            refinement passes then re-predict the least confident tokens.
  "prefix"  the first k tokens kept, k uniform in [1, length - 1], the rest blanked; decoding
            then fixes one position per pass in the model's order (least significant digit
            first when the result is reversed), so each digit sees the digits before it.
The randomness is stateless, hashed from the example's own text, so a re-run transforms every
example identically and Transform's cache stays valid.
"""
from typing import Any, Dict

import tensorflow as tf

from modules import features, hints, tokens

_HASH_BUCKETS = 1 << 24
_SEP, _STP = features.VOCAB[features.SEP], features.VOCAB[features.STP]
# custom_config key of the generator's operand bound (the rest are ModelConfig fields).
MAX_VAL = "max_val"
# The ModelConfig fields preprocessing_fn reads. Transform is given only these, so that changing
# a training-only field (train_steps, dim_hidden, ...) reuses Transform's cached output.
MODEL_FIELDS = ("width_enc", "width_dec", "enc_layout", "reverse_result", "full_blank_fraction",
                "blanking")


def custom_config_for(model_config: Any, max_val: int) -> Dict[str, Any]:
    """Transform's custom_config: the fields above of a ModelConfig, and the operand bound."""
    return {**{name: getattr(model_config, name) for name in MODEL_FIELDS}, MAX_VAL: max_val}


def _uniform(keys: tf.Tensor, salt: str) -> tf.Tensor:
    """A reproducible uniform [0, 1) per key: the same key and salt always give the same."""
    hashed = tf.strings.to_hash_bucket_fast(tf.strings.join([keys, salt], separator="#"),
                                            _HASH_BUCKETS)
    return tf.cast(hashed, tf.float32) / _HASH_BUCKETS


BLANKINGS = ("random", "prefix")


def blank(tgt: tf.RaggedTensor, keys: tf.Tensor, full_blank_fraction: float,
          blanking: str = "random") -> tf.RaggedTensor:
    """Replaces a reproducible random subset of each row's tokens with SPC."""
    if blanking not in BLANKINGS:
        raise ValueError(f"blanking must be one of {BLANKINGS}, received {blanking!r}")
    fully = _uniform(keys, "full") < full_blank_fraction
    row = tgt.value_rowids()
    position = tf.range(tf.size(tgt.flat_values, out_type=tf.int64)) - tf.gather(
        tgt.row_starts(), row)
    if blanking == "prefix":
        lengths = tgt.row_lengths()
        known = 1 + tf.cast(_uniform(keys, "known") * tf.cast(tf.maximum(lengths - 1, 1),
                                                               tf.float32), tf.int64)
        known = tf.where(fully, tf.zeros_like(known), tf.minimum(known, lengths - 1))
        blanked = position >= tf.gather(known, row)
    else:
        rate = tf.where(fully, 1.0, _uniform(keys, "rate"))
        token_keys = tf.strings.join([tf.gather(keys, row), tf.strings.as_string(position)],
                                     separator="@")
        blanked = _uniform(token_keys, "token") < tf.gather(rate, row)
    return tgt.with_flat_values(
        tf.where(blanked, tf.constant(features.SPC, tf.int64), tgt.flat_values))


def aligned(defs: tf.Tensor, field: int, op: tf.Tensor = None) -> tf.Tensor:
    """`x=-5,y=24` -> `x= -5,y= 24` for field 3: each operand right-aligned with SPC in a field
    of `field` characters, leading zeros dropped, so that each digit of an expression has one
    fixed place in the right-aligned encoder window. With `op`, the definitions come in the order
    the operation uses them (`x=-5,y=24` with `y-x` gives `y= 24,x= -5`): the order of the
    definitions means nothing, and this way the left operand's digits always sit in the same
    places. Text off the grammar stays as it is (it is refused later), and so do operands too
    long for the field (flagged as too long)."""
    canonical = tf.strings.regex_replace(defs, r"=(-?)0+([0-9])", r"=\1\2")
    canonical = tf.strings.regex_replace(canonical, r"=-0(,|$)", r"=0\1")
    names = (tf.strings.substr(canonical, 0, 1),
             tf.strings.regex_replace(canonical, r".*,([xy])=.*", r"\1"))
    values = (tf.strings.regex_replace(canonical, r"^[xy]=(-?[0-9]+),.*", r"\1"),
              tf.strings.regex_replace(canonical, r".*,[xy]=(-?[0-9]+)$", r"\1"))
    padding = " " * field

    def pad(value):
        fits = tf.strings.length(value) <= field
        return tf.where(fits, tf.strings.substr(tf.strings.join([padding, value]), -field, field),
                        value)

    first, second = (names[0], pad(values[0])), (names[1], pad(values[1]))
    if op is not None:
        swap = (tf.strings.regex_full_match(op, features.OP_GRAMMAR)
                & tf.not_equal(tf.strings.substr(op, 0, 1), names[0]))
        first, second = ([tf.where(swap, b, a) for a, b in zip(first, second)],
                         [tf.where(swap, a, b) for a, b in zip(first, second)])
    layout = tf.strings.join([first[0], "=", first[1], ",", second[0], "=", second[1]])
    return tf.where(tf.strings.regex_full_match(defs, features.DEFS_GRAMMAR), layout, defs)


def _problem(unknown: tf.Tensor, length: tf.Tensor, width: int) -> tf.Tensor:
    none = tf.constant(0, tf.int64)
    return (tf.where(unknown, tf.constant(tokens.UNKNOWN_CHARACTER, tf.int64), none)
            | tf.where(length > width, tf.constant(tokens.TOO_LONG, tf.int64), none))


def preprocessing_fn(inputs: Dict[str, Any], custom_config: Dict[str, Any]) -> Dict[str, Any]:
    """tf.Transform entry point; custom_config is `custom_config_for(...)`."""
    width_enc = int(custom_config["width_enc"])
    width_dec = int(custom_config["width_dec"])
    defs, op = tokens.joined(inputs[features.DEFS]), tokens.joined(inputs[features.OP])
    shown = defs
    if custom_config.get("enc_layout", "text") == "aligned":
        shown = aligned(defs, len(str(-int(custom_config[MAX_VAL]))), op)
    # Tokenized as one text, which is cheaper to trace than joining the tokens of its parts.
    enc, enc_unknown = tokens.tokenize(tf.strings.join([shown, _SEP, op, _SEP]))
    outputs = {
        features.ENC: enc.to_sparse(),
        features.ENC_PROBLEM: _problem(enc_unknown, enc.row_lengths(), width_enc),
    }
    if features.RES in inputs:  # absent at serving: the label is what the model predicts
        res = tokens.joined(inputs[features.RES])
        in_model_order = tokens.reversed_text(res) if custom_config.get(
            "reverse_result", False) else res
        tgt, res_unknown = tokens.tokenize(tf.strings.join([in_model_order, _STP]))
        keys = tf.strings.join([defs, op, res], separator=":")
        outputs.update({
            features.TGT: tgt.to_sparse(),
            features.DEC: blank(tgt, keys, float(custom_config["full_blank_fraction"]),
                                custom_config.get("blanking", "random")).to_sparse(),
            features.TGT_PROBLEM: _problem(res_unknown, tgt.row_lengths(), width_dec),
            features.HINTS: hints.carries(defs, op, width_dec),
            features.LARGER: hints.larger(defs, op, width_dec),
        })
    return outputs
