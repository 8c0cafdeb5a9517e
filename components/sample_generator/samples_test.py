"""Unit tests of the sample grammar and its tf.Example encoding."""
import re

import pytest
from tensorflow.core.example import example_pb2

from components.sample_generator import samples
from modules import features

_GRAMMAR = re.compile(r"^(x=(-?\d+),y=(-?\d+)|y=(-?\d+),x=(-?\d+)):([xy])([-+*])([xy]):(-?\d+)$")


def _operands(sample):
    match = _GRAMMAR.match(sample.text)
    assert match, f"{sample.text!r} does not follow the grammar"
    x = int(match.group(2) if match.group(2) is not None else match.group(5))
    y = int(match.group(3) if match.group(3) is not None else match.group(4))
    return match, x, y


def _assert_exact(sample):
    """The sample follows the grammar, its result and fields are exact; returns (x, y)."""
    match, x, y = _operands(sample)
    first, operator, second = match.group(6), match.group(7), match.group(8)
    assert {first, second} == {"x", "y"}
    values = {"x": x, "y": y}
    expected = eval(f"{values[first]} {operator} {values[second]}")  # pylint: disable=eval-used
    assert int(sample.res) == expected, sample.text
    assert sample.operation == features.OPERATION_CODE[operator]
    assert (sample.x_digits, sample.y_digits) == (len(str(abs(x))), len(str(abs(y))))
    return x, y


def test_samples_follow_the_grammar_and_results_are_exact():
    for sample in samples.generate(2000, 99, ("+", "-", "*"), samples.shard_rng(7, 0)):
        _assert_exact(sample)


def test_operands_cover_the_range_and_both_orders_occur():
    drawn = samples.generate(5000, 3, ("+", "-", "*"), samples.shard_rng(1, 0))
    xs = {_operands(s)[1] for s in drawn}
    assert xs == set(range(-3, 4))
    assert {s.defs[0] for s in drawn} == {"x", "y"}
    assert {s.op[0] for s in drawn} == {"x", "y"}
    assert {s.operation for s in drawn} == {0, 1, 2}


def test_only_configured_operators_are_used():
    drawn = samples.generate(500, 50, ("*",), samples.shard_rng(3, 1))
    assert {s.op[1] for s in drawn} == {"*"}


def test_same_seed_and_shard_reproduce_and_others_differ():
    def draw(seed, shard):
        return samples.generate(100, 99, ("+", "-"), samples.shard_rng(seed, shard))
    assert draw(5, 2) == draw(5, 2)
    assert draw(5, 2) != draw(5, 3)
    assert draw(5, 2) != draw(6, 2)


def test_example_stores_one_character_per_value():
    sample = samples.Sample("x=-12,y=24", "y+x", "12", 0, 2, 2)
    example = example_pb2.Example.FromString(samples.to_example(sample))
    feature = example.features.feature
    assert b"".join(feature[features.DEFS].bytes_list.value) == b"x=-12,y=24"
    assert list(feature[features.OP].bytes_list.value) == [b"y", b"+", b"x"]
    assert list(feature[features.RES].bytes_list.value) == [b"1", b"2"]
    assert list(feature[features.X_DIGITS].int64_list.value) == [2]
    assert sample.text == "x=-12,y=24:y+x:12"


def test_every_generated_character_is_in_the_vocabulary():
    drawn = samples.generate(1000, 99, ("+", "-", "*"), samples.shard_rng(2, 0))
    used = {ch for sample in drawn for ch in sample.defs + sample.op + sample.res}
    assert used <= set(features.TOKEN_OF) - {features.VOCAB[features.SPC],
                                             features.VOCAB[features.SEP],
                                             features.VOCAB[features.STP]}


def test_digit_buckets_cover_the_range_without_a_bucket_of_one_value():
    assert samples.digit_buckets(9) == [(0, 9)]
    assert samples.digit_buckets(99) == [(0, 9), (10, 99)]
    assert samples.digit_buckets(10000) == [(0, 9), (10, 99), (100, 999), (1000, 10000)]
    assert samples.digit_buckets(12345) == [(0, 9), (10, 99), (100, 999), (1000, 9999),
                                            (10000, 12345)]


def _digit_shares(drawn):
    """Of operands in [-10000, 10000]: each digit bucket's share, and the share of pairs whose
    operands both have four digits (or are 10,000)."""
    pairs = [_operands(sample)[1:] for sample in drawn]
    operands = [value for pair in pairs for value in pair]
    assert max(abs(value) for value in operands) <= 10000
    assert {value < 0 for value in operands} == {True, False}
    shares = [sum(1 for value in operands if low <= abs(value) <= high) / len(operands)
              for low, high in samples.digit_buckets(10000)]
    both_long = sum(1 for pair in pairs if min(map(abs, pair)) >= 1000)
    return shares, both_long / len(pairs)


def test_digits_draw_makes_each_digit_count_equally_likely_within_the_range():
    shares, _ = _digit_shares(
        samples.generate(8000, 10000, ("+", "-", "*"), samples.shard_rng(4, 0), "digits"))
    # 16,000 operands, a quarter per bucket: each share within 2 points of 25%.
    assert sum(shares) == pytest.approx(1.0)
    assert all(abs(share - 0.25) < 0.02 for share in shares), shares
    value_drawn = samples.generate(8000, 10000, ("+",), samples.shard_rng(4, 0), "value")
    short = sum(1 for s in value_drawn for v in _operands(s)[1:] if abs(v) < 1000)
    assert short / 16000 < 0.15  # by value, nine in ten operands have four digits


def test_mixed_draw_takes_each_operand_by_value_or_by_digit_count_half_and_half():
    shares, both_long = _digit_shares(
        samples.generate(8000, 10000, ("+",), samples.shard_rng(5, 0), "mixed"))
    # Half by digit count (a quarter per bucket), half by value (0.1%, 0.9%, 9% and 90%):
    # 12.55%, 12.95%, 17% and 57.5%, each within 2 points.
    expected = [0.1255, 0.1295, 0.17, 0.575]
    assert all(abs(share - want) < 0.02 for share, want in zip(shares, expected)), shares
    # Each operand on its own: both four-digit (or 10,000) in 0.575^2, a third of the pairs.
    assert abs(both_long - 0.575 ** 2) < 0.03, both_long


def test_longer_draw_makes_a_digit_count_as_likely_as_its_size():
    shares, both_long = _digit_shares(
        samples.generate(8000, 10000, ("*",), samples.shard_rng(6, 0), "longer"))
    # 1:2:3:4, each share within 2 points; both factors four-digit in 0.4^2 of the pairs,
    # where the digits draw puts 0.25^2.
    assert all(abs(share - want) < 0.02
               for share, want in zip(shares, (0.1, 0.2, 0.3, 0.4))), shares
    assert abs(both_long - 0.16) < 0.02, both_long


def test_each_operator_can_have_its_own_draw():
    drawn = samples.generate(9000, 10000, ("+", "*"), samples.shard_rng(8, 0), "mixed,digits")
    buckets = samples.digit_buckets(10000)

    def bucket_shares(operator):
        operands = [value for sample in drawn if sample.op[1] == operator
                    for value in _operands(sample)[1:]]
        return [sum(1 for value in operands if low <= abs(value) <= high) / len(operands)
                for low, high in buckets]

    # `+` as the mixed draw (57.5% four-digit), `*` as the digits draw (a quarter per bucket).
    assert all(abs(share - want) < 0.025 for share, want in
               zip(bucket_shares("+"), (0.1255, 0.1295, 0.17, 0.575))), bucket_shares("+")
    assert all(abs(share - 0.25) < 0.025 for share in bucket_shares("*")), bucket_shares("*")
    # One draw named for every operator is the same as naming it once: the same samples.
    assert samples.generate(50, 10000, ("+", "*"), samples.shard_rng(8, 0), "digits,digits") \
        == samples.generate(50, 10000, ("+", "*"), samples.shard_rng(8, 0), "digits")


def test_a_draw_per_operator_needs_one_known_draw_for_each_operator():
    for draw in ("mixed,digits", "mixed,log,digits"):
        with pytest.raises(ValueError, match=f"generator.draw='{draw}' is invalid: .*one of "
                                             f"them per operator of generator.ops "
                                             f"\\(\\+,-,\\*\\)"):
            samples.generate(10, 99, ("+", "-", "*"), samples.shard_rng(1, 0), draw)


def test_an_unknown_draw_is_refused_by_name():
    with pytest.raises(ValueError, match="generator.draw='log' is invalid: allowed values: "
                                         "value, digits, mixed"):
        samples.generate(10, 99, ("+",), samples.shard_rng(1, 0), "log")


def test_op_weights_make_an_operator_likelier_and_no_weights_draw_as_before():
    weighted = samples.generate(6000, 99, ("+", "-", "*"), samples.shard_rng(6, 0),
                                op_weights=(1, 1, 2))
    shares = [sum(1 for s in weighted if s.op[1] == op) / len(weighted) for op in "+-*"]
    assert all(abs(share - want) < 0.02 for share, want in zip(shares, (0.25, 0.25, 0.5))), shares
    # Without weights the draws are those from before weights existed (these three were drawn
    # then), so that spans, and the caches that rest on them, stay byte-identical.
    assert [tuple(s) for s in samples.generate(3, 99, ("+", "-", "*"),
                                               samples.shard_rng(2, 0))] == [
        ("x=67,y=-40", "x-y", "107", 1, 2, 2), ("x=-47,y=-17", "y+x", "-64", 0, 2, 2),
        ("x=-78,y=63", "x-y", "-141", 1, 2, 2)]


def test_ends_share_puts_that_share_of_digit_drawn_operands_at_the_range_ends():
    def share_at_ends(draw):
        drawn = samples.generate(4000, 10000, ("+", "-", "*"), samples.shard_rng(9, 0), draw,
                                 ends_share=0.2)
        operands = [value for sample in drawn for value in _operands(sample)[1:]]
        assert {value for value in operands if abs(value) == 10000} == {-10000, 10000}
        return sum(abs(value) == 10000 for value in operands) / len(operands)

    # 8,000 operands each: within 2 points of the share; the value draw is left as it is.
    assert abs(share_at_ends("digits") - 0.2) < 0.02
    assert abs(share_at_ends("mixed") - 0.1) < 0.02
    assert abs(share_at_ends("mixed,mixed,value") - 0.1 * 2 / 3) < 0.02  # none of `*`'s
    plain = samples.generate(4000, 10000, ("+",), samples.shard_rng(9, 0), "value")
    assert samples.generate(4000, 10000, ("+",), samples.shard_rng(9, 0), "value",
                            ends_share=0.2) == plain


def test_no_ends_share_draws_as_before_it_existed():
    # Drawn before `ends_share` existed: spans of the digits draw, and their caches, stay the same.
    assert [s.text for s in samples.generate(3, 10000, ("+", "-", "*"),
                                             samples.shard_rng(2, 0), "digits")] == [
        "x=-3686,y=-993:x+y:-4679", "y=2691,x=-47:y-x:2738", "y=-892,x=-8:x+y:-900"]


def test_cancel_share_draws_that_share_of_sums_and_differences_by_their_result():
    drawn = samples.generate(6000, 10000, ("+", "-", "*"), samples.shard_rng(5, 0), "value",
                             cancel_share=0.5)
    lengths = {"+": [], "-": [], "*": []}
    for sample in drawn:
        x, y = _assert_exact(sample)
        assert max(abs(x), abs(y)) <= 10000, sample.text
        lengths[sample.op[1]].append(len(sample.res.lstrip("-")))
    # Operands drawn by value give results of one or two digits about once in 500; here half
    # of the sums and differences have results drawn by digit count: four buckets up to 10,000.
    for operator in "+-":
        short = sum(length <= 2 for length in lengths[operator]) / len(lengths[operator])
        assert abs(short - 0.5 * 2 / 4) < 0.03, (operator, short)
    assert sum(length <= 2 for length in lengths["*"]) / len(lengths["*"]) < 0.01


def test_cancelling_keeps_operands_in_range_at_the_ends():
    # x at the range's ends: for about half of the drawn results r - x or x - r would leave
    # the range, and the result's sign is flipped instead; 400 cases hold both halves.
    xs = [10000, -10000] * 200
    operators = [0] * 200 + [1] * 200
    _, ys = samples.cancelling(xs, [0] * 400, operators, ("+", "-"), 10000, 1.0,
                               samples.shard_rng(1, 0))
    results = [x + y if o == 0 else x - y for x, y, o in zip(xs, ys, operators)]
    assert all(abs(y) <= 10000 for y in ys) and all(abs(r) <= 10000 for r in results)
    # A result of x's sign is what keeps y in range, so each end gets results of its own sign.
    assert all(r >= 0 for x, r in zip(xs, results) if x > 0)
    assert all(r <= 0 for x, r in zip(xs, results) if x < 0)


def test_cancel_x_draw_draws_x_of_near_cancelling_pairs_by_digit_count():
    drawn = samples.generate(8000, 10000, ("+", "-", "*"), samples.shard_rng(5, 0), "value",
                             cancel_share=1.0, cancel_x_draw="digits")
    digits = {"x+-": [], "x*": [], "res+-": []}
    for sample in drawn:
        x, y = _assert_exact(sample)
        assert max(abs(x), abs(y)) <= 10000, sample.text
        operator = "*" if sample.op[1] == "*" else "+-"
        digits["x" + operator].append(len(str(abs(x))))
        if operator == "+-":
            digits["res+-"].append(len(sample.res.lstrip("-")))
    # Every sum and difference is near-cancelling, its x drawn by digit count and then its y
    # to match a result drawn by digit count: two-digit x and two-digit results each in a
    # quarter of them, where a draw by value gives 0.9%; products keep the draw by value.
    two = {key: lengths.count(2) / len(lengths) for key, lengths in digits.items()}
    assert abs(two["x+-"] - 0.25) < 0.03 and abs(two["res+-"] - 0.25) < 0.03, two
    assert two["x*"] < 0.02, two


def test_no_cancel_x_draw_draws_as_before_it_existed():
    # Drawn before `cancel_x_draw` existed: spans of the seed profile stay the same.
    assert [s.text for s in samples.generate(
        5, 10000, ("+", "-", "*"), samples.shard_rng(2, 0), "mixed,mixed,digits",
        cancel_share=1.0)] == [
        "x=-8319,y=-48:x*y:399312", "x=9318,y=-9391:x+y:-73", "x=-3014,y=3019:y+x:5",
        "x=-5238,y=4728:y+x:-510", "y=-59,x=-61:y-x:2"]
