"""Fresh test cases for the benchmarks: operands uniform in the range (as the reference draws
them), or with the longer operand of a given digit count; each as (defs, op, res) columns."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from components.sample_generator import samples  # noqa: E402  (after the path above)

# Seeds of the benchmark cases: far from the pipeline's generator.seed values, so that no
# benchmark case comes from the same random stream as a training span.
UNIFORM_SEED = 1000
DIGITS_SEED = 2000


def columns(drawn):
    return ([s.defs for s in drawn], [s.op for s in drawn], [s.res for s in drawn])


def uniform(count, max_val, ops, seed=UNIFORM_SEED, draw="value"):
    return columns(samples.generate(count, max_val, ops, samples.shard_rng(seed, 0), draw))


def longest(count, max_val, operation, digits, seed=DIGITS_SEED):
    """Cases whose longer operand lies in bucket `digits` of `samples.digit_buckets` (its digit
    count), the other operand's bucket uniform in 1..digits, either one first."""
    rng = samples.shard_rng(seed, digits)
    buckets = np.array(samples.digit_buckets(max_val))
    other = rng.integers(0, digits, size=count)
    longer = rng.integers(buckets[digits - 1, 0], buckets[digits - 1, 1] + 1, size=count)
    shorter = rng.integers(buckets[other, 0], buckets[other, 1] + 1)
    signs = rng.integers(0, 2, size=(2, count)) * 2 - 1
    swap = rng.integers(0, 2, size=count).astype(bool)
    xs = np.where(swap, shorter, longer) * signs[0]
    ys = np.where(swap, longer, shorter) * signs[1]
    return columns(samples.compose(xs.tolist(), ys.tolist(), (operation,), rng))


def digit_counts(max_val):
    return range(1, len(samples.digit_buckets(max_val)) + 1)
