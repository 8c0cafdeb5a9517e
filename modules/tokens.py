"""Character tokens in TensorFlow: text to ids and back, with unknown characters flagged."""
import re

import tensorflow as tf

from modules import features

# Problem codes, per example, as a bit set: OK (0), or any of these or'ed together.
UNKNOWN_CHARACTER = 1
TOO_LONG = 2


def joined(values) -> tf.Tensor:
    """One string per example, whether the field came one character per value (as the
    generator writes it: a SparseTensor, or dense or ragged [B, N]) or as one whole string (as a
    person writes a serving request: [B] or [B, 1]). A parsed SparseTensor holds each row's
    values first, so the blanks that fill it out join to nothing."""
    if isinstance(values, tf.SparseTensor):
        values = tf.sparse.to_dense(values, default_value="")
    elif not isinstance(values, tf.RaggedTensor):
        values = tf.convert_to_tensor(values)
        if values.shape.rank == 1:
            return values
    return tf.strings.reduce_join(values, axis=1)


def _table() -> tf.lookup.StaticHashTable:
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(features.VOCAB), tf.range(len(features.VOCAB), dtype=tf.int64)),
        default_value=-1)


# Text made of vocabulary characters only; anything else (a byte of a longer UTF-8 character
# included) is unknown.
_KNOWN_TEXT = "[" + "".join(re.escape(character) for character in features.VOCAB) + "]*"


def tokenize(text: tf.Tensor):
    """Strings [B] -> (ids ragged int64 [B, None], unknown bool [B]).

    Unknown characters become SPC in `ids` so that downstream shapes stay valid; `unknown`
    says which examples had any, so callers reject them instead of using the ids.
    """
    characters = tf.strings.bytes_split(text)
    ids = characters.with_flat_values(
        tf.maximum(_table().lookup(characters.flat_values), tf.constant(0, tf.int64)))
    return ids, tf.logical_not(tf.strings.regex_full_match(text, _KNOWN_TEXT))


def reverse_rows(ids: tf.RaggedTensor) -> tf.RaggedTensor:
    """Each ragged row in reverse order: "-12" becomes "21-" (least significant digit first)."""
    lengths = ids.row_lengths()
    flipped = tf.reverse_sequence(ids.to_tensor(), lengths, seq_axis=1, batch_axis=0)
    return tf.RaggedTensor.from_tensor(flipped, lengths=lengths)


def reversed_text(text: tf.Tensor) -> tf.Tensor:
    """Each string's bytes in reverse order: "-12" becomes "21-"."""
    characters = tf.strings.bytes_split(text)
    flipped = tf.reverse_sequence(characters.to_tensor(""), characters.row_lengths(),
                                  seq_axis=1, batch_axis=0)
    return tf.strings.reduce_join(flipped, axis=1)


def until_stop(ids: tf.Tensor) -> tf.RaggedTensor:
    """Token ids [B, W] -> ragged [B, None]: each row's tokens before its first STP (all if
    none)."""
    ids = tf.cast(ids, tf.int64)
    width = tf.shape(ids, out_type=tf.int64)[1]
    is_stop = tf.equal(ids, features.STP)
    first_stop = tf.where(tf.reduce_any(is_stop, axis=1),
                          tf.argmax(tf.cast(is_stop, tf.int64), axis=1), width)
    return tf.RaggedTensor.from_tensor(ids, lengths=first_stop)


def detokenize(ids: tf.Tensor, reversed_order: bool = False) -> tf.Tensor:
    """Token ids [B, W] -> strings [B]: the characters before the first STP, in reading order
    (turned back if the model writes results reversed)."""
    kept = until_stop(ids)
    if reversed_order:
        kept = reverse_rows(kept)
    characters = tf.ragged.map_flat_values(tf.gather, tf.constant(features.VOCAB), kept)
    return tf.strings.reduce_join(characters, axis=1)
