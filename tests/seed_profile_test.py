"""The seed profile, the reference's range, is consistent on tiny data: its widths hold its
longest expression and result, its gates refuse a model that learned nothing, and operands
beyond its range get an error that names the range. Its curated schema: tests/schema_test.py."""
import math

import tensorflow as tf

from modules import config, export, features, serving_contract

SEED = config.profile("seed")


def test_its_range_and_operations_are_the_references():
    assert SEED.generator.max_val == 10_000 and SEED.generator.ops == ("+", "-", "*")
    assert SEED.data.curated_schema == "seed.pbtxt"


def test_its_widths_hold_the_longest_expression_and_the_nine_digit_products():
    assert SEED.model.width_enc == config.max_enc_tokens(10_000) == \
        len("x=-10000,y=-10000:x*y:")
    assert SEED.model.width_dec == config.max_tgt_tokens(10_000, SEED.generator.ops) == \
        len("-100000000") + 1


def test_its_gates_refuse_a_model_that_learned_nothing():
    guessing = math.log(len(features.VOCAB))  # loss per position of a uniform guess
    assert 0 < SEED.eval.min_exact_match <= 1 and SEED.eval.max_loss < guessing / 4
    assert SEED.eval != config.profile("default").eval


def test_operands_beyond_its_range_get_an_error_naming_it():
    defs = tf.constant(["x=10000,y=-10000", "x=10001,y=1", "y=-10001,x=0", "x=9999,y=-0",
                        "x=123456789012345678901,y=1"])
    assert export._operand_out_of_range(defs, SEED.generator.max_val).numpy().tolist() == [
        False, True, True, False, True]
    assert serving_contract.out_of_range(SEED.generator.max_val) == \
        "operands must be in [-10000, 10000], the range this model was trained on"
