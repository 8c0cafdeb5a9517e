"""Training-only hints: the carry into each place of an example's result, from its text.

The model writes a result least significant digit first, every place at once. Each digit is
the digit-level column of the operation at that place plus the carry from the places below,
and the carry is what a single pass finds hard: for `*` it is a number (up to a few dozen),
not a bit. The Hints layer (modules/layers.py) predicts it per place from the decoder's
states, trained alongside the result and unused at serving.

For `+` and `-` the operation is on the magnitudes: `a + b` with one sign is their sum (the
carry is 0 or 1), with opposite signs the larger magnitude minus the smaller one (the borrow
is 0 or 1). For `*` the carry into place k is floor(sum over i + j < k of a_i b_j 10^(i+j)
/ 10^k), where a_i is digit i of |a|.

Which of those two magnitudes is the larger one decides the sign of the result, and belongs to
the whole operands, not to a place: `larger` labels it for a second, optional head
(model.larger_weight).
"""
import functools
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from modules import features


# Longest operand parsed; longer ones (refused elsewhere) count as 0 here.
_MAX_DIGITS = 18


def _operand(defs: tf.Tensor, name: str) -> tf.Tensor:
    text = tf.strings.regex_replace(defs, f".*{name}=(-?[0-9]+).*", r"\1")
    fits = tf.strings.length(tf.strings.regex_replace(text, "-", "")) <= _MAX_DIGITS
    return tf.strings.to_number(tf.where(fits, text, "0"), tf.int64)


def _digits(magnitude: tf.Tensor, places: int) -> tf.Tensor:
    """int64 [B] -> [B, places], least significant first."""
    powers = tf.constant([10 ** i for i in range(places)], tf.int64)
    return (magnitude[:, None] // powers[None, :]) % 10


# Labels of `larger`: which term of a sum of opposite signs has the larger magnitude.
LEFT, EQUAL, RIGHT = 0, 1, 2
LARGER_CLASSES = 3


class _Terms(NamedTuple):
    """An expression as `left + addend` (`a - b` is `a + (-b)`), or `left * right`."""
    left: tf.Tensor
    right: tf.Tensor
    addend: tf.Tensor
    is_product: tf.Tensor
    same_sign: tf.Tensor  # the magnitudes of left and addend add (one of them may be 0)


def _terms(defs: tf.Tensor, op: tf.Tensor) -> _Terms:
    """Joined `defs` and `op` strings [B] -> their terms; text off the grammar (refused by
    training through its problem flags) reads as 0 + 0."""
    grammatical = (tf.strings.regex_full_match(defs, features.DEFS_GRAMMAR)
                   & tf.strings.regex_full_match(op, features.OP_GRAMMAR))
    defs, op = tf.where(grammatical, defs, "x=0,y=0"), tf.where(grammatical, op, "x+y")
    x, y = _operand(defs, "x"), _operand(defs, "y")
    x_first = tf.equal(tf.strings.substr(op, 0, 1), "x")
    left, right = tf.where(x_first, x, y), tf.where(x_first, y, x)
    operator = tf.strings.substr(op, 1, 1)
    addend = tf.where(tf.equal(operator, "-"), -right, right)
    same_sign = tf.logical_or(tf.equal(left >= 0, addend >= 0),
                              tf.logical_or(tf.equal(left, 0), tf.equal(addend, 0)))
    return _Terms(left, right, addend, tf.equal(operator, features.OPERATORS[2]), same_sign)


def larger(defs: tf.Tensor, op: tf.Tensor, places: int) -> tf.Tensor:
    """Joined `defs` and `op` strings [B] -> int64 [B, places], one label repeated at every
    place: for a sum or difference whose terms have opposite signs, LEFT or RIGHT as the left
    term or the addend has the larger magnitude (whose sign the result takes); EQUAL for
    products, terms of one sign, equal magnitudes and text off the grammar, where there is
    nothing to decide."""
    terms = _terms(defs, op)
    left, addend = tf.abs(terms.left), tf.abs(terms.addend)
    which = tf.where(left > addend, tf.constant(LEFT, tf.int64),
                     tf.where(left < addend, tf.constant(RIGHT, tf.int64),
                              tf.constant(EQUAL, tf.int64)))
    deciding = tf.logical_not(terms.is_product | terms.same_sign)
    label = tf.where(deciding, which, tf.constant(EQUAL, tf.int64))
    return tf.tile(label[:, None], [1, places])


def carries(defs: tf.Tensor, op: tf.Tensor, places: int) -> tf.Tensor:
    """Joined `defs` and `op` strings [B] -> the carry into each of the result's first
    `places` places, int64 [B, places]. Examples off the grammar (refused by training through
    their problem flags) get the carries of 0 + 0."""
    left, right, addend, is_product, same_sign = _terms(defs, op)
    big = tf.maximum(tf.abs(left), tf.abs(addend))
    small = tf.minimum(tf.abs(left), tf.abs(addend))

    a, b = _digits(tf.abs(left), places), _digits(tf.abs(right), places)
    sum_digits = a + _digits(tf.abs(addend), places)
    difference_digits = _digits(big, places) - _digits(small, places)
    # Column k of the product: the sum of a_i * b_j over i + j = k (in float64, exact for
    # these small integers: CPUs have no int64 matmul).
    products = tf.reshape(a[:, :, None] * b[:, None, :], [-1, places * places])
    columns = tf.cast(tf.matmul(tf.cast(products, tf.float64), _same_column(places)), tf.int64)

    carry, into = tf.zeros_like(left), []
    for column, digit_sum, digit_difference in zip(
            tf.unstack(columns, places, axis=1), tf.unstack(sum_digits, places, axis=1),
            tf.unstack(difference_digits, places, axis=1)):
        into.append(carry)
        carry = tf.where(is_product, (column + carry) // 10,
                         tf.where(same_sign, (digit_sum + carry) // 10,
                                  tf.cast(digit_difference - carry < 0, tf.int64)))
    return tf.stack(into, axis=1)


@functools.lru_cache(maxsize=None)
def _same_column(places: int) -> np.ndarray:
    """float64 [places * places, places]: row i * places + j is 1 in column i + j (if below
    places), the column of the product a_i * b_j."""
    i, j, k = np.indices((places,) * 3)
    return (i + j == k).astype(np.float64).reshape(places * places, places)
