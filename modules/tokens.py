"""Character tokens in TensorFlow: text to ids and back, with unknown characters flagged."""
import tensorflow as tf

from modules import features

# Problem codes, per example, as a bit set: OK (0), or any of these or'ed together.
UNKNOWN_CHARACTER = 1
TOO_LONG = 2


def as_ragged(values) -> tf.RaggedTensor:
    """A 2-D text feature as parsed (SparseTensor, dense or ragged) as a RaggedTensor."""
    if isinstance(values, tf.RaggedTensor):
        return values
    if isinstance(values, tf.SparseTensor):
        return tf.RaggedTensor.from_sparse(values)
    values = tf.convert_to_tensor(values)
    if values.shape.rank == 1:
        values = values[:, None]
    return tf.RaggedTensor.from_tensor(values)


def joined(values) -> tf.Tensor:
    """One string per example, whether the field came one character per value (as the
    generator writes it) or as one whole string (as a person writes a serving request)."""
    return tf.strings.reduce_join(as_ragged(values), axis=1)


def _table() -> tf.lookup.StaticHashTable:
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(features.VOCAB), tf.range(len(features.VOCAB), dtype=tf.int64)),
        default_value=-1)


def tokenize(text: tf.Tensor):
    """Strings [B] -> (ids ragged int64 [B, None], unknown bool [B]).

    Unknown characters become SPC in `ids` so that downstream shapes stay valid; `unknown`
    says which examples had any, so callers reject them instead of using the ids.
    """
    characters = tf.strings.bytes_split(text)
    ids = tf.ragged.map_flat_values(_table().lookup, characters)
    unknown = tf.reduce_any(tf.equal(ids, -1), axis=1)
    return tf.ragged.map_flat_values(tf.maximum, ids, tf.constant(0, tf.int64)), unknown


def reverse_rows(ids: tf.RaggedTensor) -> tf.RaggedTensor:
    """Each ragged row in reverse order: "-12" becomes "21-" (least significant digit first)."""
    lengths = ids.row_lengths()
    flipped = tf.reverse_sequence(ids.to_tensor(), lengths, seq_axis=1, batch_axis=0)
    return tf.RaggedTensor.from_tensor(flipped, lengths=lengths)


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
