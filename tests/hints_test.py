"""The training-only hints: the carry into each place, checked against long multiplication,
addition and subtraction done digit by digit in Python; and which term is larger."""
import random

import tensorflow as tf

from modules import hints

PLACES = 11


def _digits(value):
    return [(abs(value) // 10 ** i) % 10 for i in range(PLACES)]


def _carries(left, right, operator):
    if operator == "*":
        a, b, carry, into = _digits(left), _digits(right), 0, []
        for k in range(PLACES):
            into.append(carry)
            carry = (sum(a[i] * b[k - i] for i in range(k + 1)) + carry) // 10
        return into
    addend = -right if operator == "-" else right
    if (left >= 0) == (addend >= 0) or 0 in (left, addend):
        a, b, carry, into = _digits(left), _digits(addend), 0, []
        for k in range(PLACES):
            into.append(carry)
            carry = (a[k] + b[k] + carry) // 10
        return into
    big, small = max(abs(left), abs(addend)), min(abs(left), abs(addend))
    a, b, borrow, into = _digits(big), _digits(small), 0, []
    for k in range(PLACES):
        into.append(borrow)
        borrow = int(a[k] - b[k] - borrow < 0)
    return into


def test_carries_match_the_schoolbook_method_for_every_operation_and_order():
    rng = random.Random(3)
    defs, ops, expected = [], [], []
    for _ in range(2000):
        x, y = rng.randint(-10000, 10000), rng.randint(-10000, 10000)
        operator, first = rng.choice("+-*"), rng.choice("xy")
        left, right = (x, y) if first == "x" else (y, x)
        defs.append(f"x={x},y={y}" if rng.random() < 0.5 else f"y={y},x={x}")
        ops.append(f"{first}{operator}{'y' if first == 'x' else 'x'}")
        expected.append(_carries(left, right, operator))
    found = hints.carries(tf.constant(defs), tf.constant(ops), PLACES).numpy().tolist()
    assert found == expected
    assert max(max(row) for row in found) > 10  # products carry more than a bit


def test_text_off_the_grammar_gets_the_carries_of_zero_plus_zero():
    found = hints.carries(tf.constant(["x=1?,y=2", "x=" + "9" * 30 + ",y=1", "x=1,y=2"]),
                          tf.constant(["x+y", "x*y", "x/y"]), 4).numpy().tolist()
    assert found == [[0, 0, 0, 0]] * 3


def _larger(left, right, operator):
    addend = -right if operator == "-" else right
    if operator == "*" or (left >= 0) == (addend >= 0) or 0 in (left, addend):
        return hints.EQUAL
    if abs(left) == abs(addend):
        return hints.EQUAL
    return hints.LEFT if abs(left) > abs(addend) else hints.RIGHT


def test_larger_names_the_term_whose_sign_a_sum_of_opposite_signs_takes():
    rng = random.Random(4)
    defs, ops, expected = [], [], []
    for _ in range(2000):
        # Short operands too, so that equal magnitudes (x=7,y=-7) come up.
        bound = rng.choice([9, 10000])
        x, y = rng.randint(-bound, bound), rng.randint(-bound, bound)
        operator, first = rng.choice("+-*"), rng.choice("xy")
        left, right = (x, y) if first == "x" else (y, x)
        defs.append(f"x={x},y={y}" if rng.random() < 0.5 else f"y={y},x={x}")
        ops.append(f"{first}{operator}{'y' if first == 'x' else 'x'}")
        expected.append([_larger(left, right, operator)] * PLACES)
    found = hints.larger(tf.constant(defs), tf.constant(ops), PLACES).numpy().tolist()
    assert found == expected
    labels = {row[0] for row in found}
    assert labels == {hints.LEFT, hints.EQUAL, hints.RIGHT}
    # Each label is a sign the result takes: x + y with x=-7,y=5 is negative, as x is larger.
    assert hints.larger(tf.constant(["x=-7,y=5", "x=-7,y=7"]), tf.constant(["x+y", "x+y"]),
                        1).numpy().tolist() == [[hints.LEFT], [hints.EQUAL]]


def test_text_off_the_grammar_gets_no_larger_term():
    found = hints.larger(tf.constant(["x=1?,y=-2", "x=" + "9" * 30 + ",y=-1", "x=1,y=-2"]),
                         tf.constant(["x+y", "x+y", "x/y"]), 2).numpy().tolist()
    assert found == [[hints.EQUAL] * 2] * 3
