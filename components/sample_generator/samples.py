"""The sample grammar: deterministic arithmetic samples as serialized tf.Examples."""
from typing import Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from tensorflow.core.example import example_pb2

from components.sample_generator import parameters
from modules import features
from modules.config import GeneratorConfig, draws_per_operator


class Sample(NamedTuple):
    defs: str
    op: str
    res: str
    operation: int
    x_digits: int
    y_digits: int

    @property
    def text(self) -> str:
        """The reference's one-line form, e.g. `x=-12,y=24:y+x:12`."""
        return f"{self.defs}:{self.op}:{self.res}"


def _apply(operator: str, x: int, y: int) -> int:
    return {"+": x + y, "-": x - y, "*": x * y}[operator]


def shard_rng(seed: int, shard: int, span: int = 0) -> np.random.Generator:
    """Randomness keyed by (seed, span, shard) only, so any worker reproduces any shard exactly
    and every span of a continuous-training series holds new samples."""
    return np.random.default_rng(np.random.SeedSequence([seed, span, shard]))


def digit_buckets(max_val: int) -> List[Tuple[int, int]]:
    """Magnitude ranges of equal weight for the "digits" draw: [0, 9], [10, 99], ... up to
    max_val. The last one also takes max_val itself when it is a power of ten (10,000 joins
    [1000, 9999]), so that no bucket holds a single value."""
    top = len(str(max(max_val - 1, 1)))
    return [(0 if d == 1 else 10 ** (d - 1), max_val if d == top else 10 ** d - 1)
            for d in range(1, top + 1)]


def operands(count: int, max_val: int, draw: str, rng: np.random.Generator,
             ends_share: float = 0.0) -> List[int]:
    """`count` operands in [-max_val, max_val], drawn as `draw` (one name) says; of those drawn
    by digit count ("digits", "longer"), `ends_share` at the range's ends (-max_val or
    max_val)."""
    if draw == "value":
        return rng.integers(-max_val, max_val + 1, size=count).tolist()
    if draw == "mixed":
        by_value = rng.integers(0, 2, size=count).astype(bool)
        values = operands(count, max_val, "value", rng)
        by_digits = operands(count, max_val, "digits", rng, ends_share)
        return np.where(by_value, values, by_digits).tolist()
    # "digits" or "longer" (draws_per_operator has checked the name)
    buckets = np.array(digit_buckets(max_val))
    if draw == "longer":
        sizes = np.arange(1, len(buckets) + 1)
        chosen = rng.choice(len(buckets), size=count, p=sizes / sizes.sum())
    else:
        chosen = rng.integers(0, len(buckets), size=count)
    low, high = buckets[chosen].T
    magnitudes = rng.integers(low, high + 1)
    if ends_share:  # no extra draw without it, so that spans written before it stay the same
        magnitudes = np.where(rng.random(size=count) < ends_share, max_val, magnitudes)
    signs = rng.integers(0, 2, size=count) * 2 - 1
    return (magnitudes * signs).tolist()


def cancelling(xs: Sequence[int], ys: Sequence[int], operators: Sequence[int],
               ops: Sequence[str], max_val: int, share: float,
               rng: np.random.Generator, x_draw: str = "") -> Tuple[List[int], List[int]]:
    """(`xs`, `ys`), except that for `share` of the `+` and `-` samples y is set so that the
    result is a value drawn by digit count: near-cancelling operands such as 5805 and -5888,
    whose short results a draw of operands shows about as rarely as one-digit operands. With
    `x_draw` (a draw's name), x of those samples is drawn anew that way first."""
    count = len(xs)
    chosen = rng.random(size=count) < share
    results = np.asarray(operands(count, max_val, "digits", rng))
    x, y = np.asarray(xs), np.asarray(ys)
    names = np.asarray(ops)[np.asarray(operators)]
    chosen &= names != "*"
    if x_draw:  # no extra draw without it, so that spans written before it stay the same
        x = np.where(chosen, np.asarray(operands(count, max_val, x_draw, rng)), x)
    # x + y = r, or x - y = r; where that y is out of range, -r instead: r of x's sign keeps
    # |y| <= max(|x|, |r|).
    plus = np.where(np.abs(results - x) <= max_val, results - x, -results - x)
    minus = np.where(np.abs(x - results) <= max_val, x - results, x + results)
    y = np.where(chosen & (names == "+"), plus, np.where(chosen & (names == "-"), minus, y))
    return x.tolist(), y.tolist()


def generate(count: int, max_val: int, ops: Sequence[str], rng: np.random.Generator,
             draw: str = "value", op_weights: Sequence[float] = (),
             ends_share: float = 0.0, cancel_share: float = 0.0,
             cancel_x_draw: str = "") -> List[Sample]:
    """Draws `count` samples: operands in [-max_val, max_val] as `draw` says (one draw, or one
    per operator, `ends_share` of the digit-count-drawn ones at ±max_val), operators from ops,
    as likely as their `op_weights` say (all equally without); `cancel_share` of the `+` and `-`
    samples with near-cancelling operands (`cancelling`), their x drawn as `cancel_x_draw` says
    (as their operator's draw when empty)."""
    draws = draws_per_operator(draw, ops)
    if len(set(draws)) == 1 and not cancel_share:
        xs = operands(count, max_val, draws[0], rng, ends_share)
        ys = operands(count, max_val, draws[0], rng, ends_share)
        return compose(xs, ys, ops, rng, op_weights)
    # The operator first, then each pair as its operator's draw says.
    operators = _operators(count, ops, rng, op_weights)
    pairs = {name: (operands(count, max_val, name, rng, ends_share),
                    operands(count, max_val, name, rng, ends_share))
             for name in sorted(set(draws))}
    xs = [pairs[draws[o]][0][i] for i, o in enumerate(operators)]
    ys = [pairs[draws[o]][1][i] for i, o in enumerate(operators)]
    if cancel_share:  # no extra draw without it, so that spans written before it stay the same
        xs, ys = cancelling(xs, ys, operators, ops, max_val, cancel_share, rng, cancel_x_draw)
    return compose(xs, ys, ops, rng, operators=operators)


def _operators(count: int, ops: Sequence[str], rng: np.random.Generator,
               op_weights: Sequence[float] = ()) -> List[int]:
    if op_weights:
        shares = np.asarray(op_weights, np.float64) / np.sum(op_weights)
        return rng.choice(len(ops), size=count, p=shares).tolist()
    return rng.integers(0, len(ops), size=count).tolist()


def compose(xs: Sequence[int], ys: Sequence[int], ops: Sequence[str],
            rng: np.random.Generator, op_weights: Sequence[float] = (),
            operators: Optional[Sequence[int]] = None) -> List[Sample]:
    """Samples of the given operands: operators from ops (the given indices, or drawn as
    op_weights say, or uniform), both orders of the definitions and of the operation equally
    likely."""
    count = len(xs)
    if operators is None:
        operators = _operators(count, ops, rng, op_weights)
    x_defined_first = rng.integers(0, 2, size=count).tolist()
    x_operand_first = rng.integers(0, 2, size=count).tolist()
    samples = []
    for x, y, o, defs_order, op_order in zip(xs, ys, operators, x_defined_first, x_operand_first):
        operator = ops[o]
        defs = f"x={x},y={y}" if defs_order else f"y={y},x={x}"
        if op_order:
            op, res = f"x{operator}y", _apply(operator, x, y)
        else:
            op, res = f"y{operator}x", _apply(operator, y, x)
        samples.append(Sample(defs, op, str(res), features.OPERATION_CODE[operator],
                              len(str(abs(x))), len(str(abs(y)))))
    return samples


def characters(text: str) -> List[bytes]:
    return [bytes((code,)) for code in text.encode()]


def to_example(sample: Sample) -> bytes:
    """Text fields are stored one character per value, so that TFDV statistics and the
    schema can check each character against the vocabulary and each field's length."""
    example = example_pb2.Example()
    feature = example.features.feature
    feature[features.DEFS].bytes_list.value.extend(characters(sample.defs))
    feature[features.OP].bytes_list.value.extend(characters(sample.op))
    feature[features.RES].bytes_list.value.extend(characters(sample.res))
    feature[features.OPERATION].int64_list.value.append(sample.operation)
    feature[features.X_DIGITS].int64_list.value.append(sample.x_digits)
    feature[features.Y_DIGITS].int64_list.value.append(sample.y_digits)
    return example.SerializeToString(deterministic=True)


def shard_examples(config: GeneratorConfig, shard: int, count: int) -> Iterator[bytes]:
    """Shard `shard` of the span `config` describes, `count` samples, serialized."""
    rng = shard_rng(config.seed, shard, config.span)
    for sample in generate(count, rng=rng, **parameters.draw_options(config)):
        yield to_example(sample)
