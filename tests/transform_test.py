"""preprocessing_fn on tiny data through tf.Transform's Beam implementation."""
import dataclasses
import functools

import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata

from components.sample_generator import samples
from modules import features, tokens, transform
from modules.config import ModelConfig

# The text layout and Mask-Predict blanking; tests that need others replace them.
CONFIG = ModelConfig(width_enc=16, width_dec=5, enc_layout="text", blanking="random",
                     full_blank_fraction=0.5, reverse_result=False)
_TEXT = tf.io.VarLenFeature(tf.string)
TRAINING_SPEC = {features.DEFS: _TEXT, features.OP: _TEXT, features.RES: _TEXT}
SERVING_SPEC = {features.DEFS: _TEXT, features.OP: _TEXT}


def _row(defs, op, res=None):
    row = {features.DEFS: [c.encode() for c in defs], features.OP: [c.encode() for c in op]}
    if res is not None:
        row[features.RES] = [c.encode() for c in res]
    return row


class _OnlyWhatTransformIsGiven(dict):
    """custom_config as the pipeline gives it to Transform (transform.custom_config_for), where
    reading any other key fails, `.get` with a default included: a setting preprocessing_fn
    reads must be in transform.MODEL_FIELDS, or changing it would not re-run Transform."""

    def get(self, key, default=None):
        return self[key]


def _transform(rows, spec, config=CONFIG, tmp_dir="/tmp"):
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec(spec)
    fn = functools.partial(transform.preprocessing_fn, custom_config=_OnlyWhatTransformIsGiven(
        transform.custom_config_for(config, 99)))
    with tft_beam.Context(temp_dir=tmp_dir, force_tf_compat_v1=False):
        (transformed, _), _ = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
            fn, output_record_batches=False)
    return transformed


def _ids(text):
    return [features.TOKEN_OF[c] for c in text]


# The rows of every test below, transformed together: one Beam run per spec and config, as each
# run costs seconds whatever its size.
REVERSED_ALIGNED = dataclasses.replace(CONFIG, reverse_result=True, enc_layout="aligned")
CASES = {  # name: (rows, spec, config)
    "tokens": ([_row("x=-12,y=24", "y+x", "12")], TRAINING_SPEC, CONFIG),
    "blanking": ([_row(s.defs, s.op, s.res) for s in samples.generate(
        300, 99, ("+", "-", "*"), samples.shard_rng(1, 0))], TRAINING_SPEC, CONFIG),
    "problems": ([_row("x=3,y=4", "x*y", "12"), _row("x=3,y=4?", "x*y", "12"),
                  _row("x=3,y=4", "x*y", "1/2"), _row("x=123456,y=4", "x*y", "493824"),
                  _row("x=3,y=4?" + "9" * 10, "x*y", "12")], TRAINING_SPEC, CONFIG),
    "hints": ([_row("x=-12,y=24", "y+x", "12"),     # 24 - 12: no borrow
               _row("x=57,y=68", "x+y", "125"),     # 7 + 8 carries 1, 5 + 6 + 1 carries 1
               _row("x=-99,y=99", "x*y", "-9801"),  # columns 81, 162, 81 carry 8, 17, 9
               _row("x=30,y=4", "x-y", "26"),       # 0 - 4 borrows 1
               _row("x=3,y=-40", "x+y", "-37")],    # 40 - 3: 0 - 3 borrows 1
              TRAINING_SPEC, CONFIG),
    "reversed": ([_row("x=-12,y=2", "x*y", "-24"), _row("x=5,y=5", "x+y", "10")],
                 TRAINING_SPEC, REVERSED_ALIGNED),
    "aligned": ([_row("x=-12,y=24", "y+x", "12"), _row("y=3,x=0", "x*y", "0")],
                TRAINING_SPEC, REVERSED_ALIGNED),
    "serving": ([_row("x=3,y=-4", "x*y")], SERVING_SPEC, CONFIG),
}


def _direct(rows, spec, config):
    """preprocessing_fn called on the rows directly, without Beam: it has no analyzers."""
    outputs = transform.preprocessing_fn(
        {key: tf.ragged.constant([row[key] for row in rows]) for key in spec},
        transform.custom_config_for(config, 99))
    return {key: tf.RaggedTensor.from_sparse(value).to_list() if isinstance(
        value, tf.SparseTensor) else value.numpy().tolist() for key, value in outputs.items()}


def _key(enc, tgt=()):
    return tuple(enc), tuple(tgt)


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    """{case name: its rows' outputs, in the rows' order}, from one Beam run per (spec,
    config). Outputs are matched to their rows by their tokens, whatever order Beam gives."""
    groups = {}
    for name, (rows, spec, config) in CASES.items():
        groups.setdefault((id(spec), config), (spec, config, []))[2].append((name, rows))
    found = {}
    for index, (spec, config, cases) in enumerate(groups.values()):
        rows = [row for _, case_rows in cases for row in case_rows]
        outputs = _transform(rows, spec, config,
                             tmp_dir=str(tmp_path_factory.mktemp(f"transform{index}")))
        by_key = {}
        for out in outputs:
            by_key.setdefault(_key(out[features.ENC], out.get(features.TGT, ())), []).append(out)
        direct = _direct(rows, spec, config)
        ordered = [by_key[_key(enc, tgt)].pop() for enc, tgt in zip(
            direct[features.ENC], direct.get(features.TGT, [()] * len(rows)))]
        assert len(outputs) == len(rows) and not any(by_key.values())
        for name, case_rows in cases:
            found[name], ordered = ordered[:len(case_rows)], ordered[len(case_rows):]
    return found


def test_tokens_follow_the_reference_vocabulary(transformed):
    (out,) = transformed["tokens"]
    assert list(out[features.ENC]) == _ids("x=-12,y=24") + [features.SEP] + _ids("y+x") + [
        features.SEP]
    assert list(out[features.TGT]) == _ids("12") + [features.STP]
    assert out[features.ENC_PROBLEM] == 0 and out[features.TGT_PROBLEM] == 0
    dec = list(out[features.DEC])
    assert len(dec) == 3
    assert all(d in (features.SPC, t) for d, t in zip(dec, out[features.TGT]))


def test_reversed_results_put_the_least_significant_digit_first(transformed):
    assert [list(out[features.TGT]) for out in transformed["reversed"]] == [
        _ids("42-") + [features.STP], _ids("01") + [features.STP]]
    # Serving turns them back: users read "-24" and "10".
    padded = tf.constant([_ids("42-") + [features.STP, features.SPC],
                          _ids("01") + [features.STP] * 3])
    assert tokens.detokenize(padded, reversed_order=True).numpy().tolist() == [b"-24", b"10"]


def test_blanking_is_reproducible_and_includes_fully_blank_results(transformed):
    """Beam's outputs equal those of preprocessing_fn called again, directly: the blanking is
    hashed from each example's text, not drawn."""
    rows, spec, config = CASES["blanking"]
    first = transformed["blanking"]
    decs = [list(out[features.DEC]) for out in first]
    assert decs == _direct(rows, spec, config)[features.DEC]
    fully = sum(all(t == features.SPC for t in dec) for dec in decs)
    untouched = sum(dec == list(out[features.TGT]) for dec, out in zip(decs, first))
    assert 0.35 < fully / len(decs) < 0.65, "about half must be fully blank"
    assert 0 < untouched < len(decs) - fully, "partial blanking must vary"


def test_serving_examples_without_res_transform_enc_only(transformed):
    (out,) = transformed["serving"]
    assert set(out) == {features.ENC, features.ENC_PROBLEM}
    assert list(out[features.ENC]) == _ids("x=3,y=-4") + [features.SEP] + _ids("x*y") + [
        features.SEP]


def test_unknown_characters_and_over_long_fields_are_flagged(transformed):
    expected = [(0, 0), (tokens.UNKNOWN_CHARACTER, 0), (0, tokens.UNKNOWN_CHARACTER),
                (tokens.TOO_LONG, tokens.TOO_LONG),
                (tokens.UNKNOWN_CHARACTER | tokens.TOO_LONG, 0)]
    assert [(out[features.ENC_PROBLEM], out[features.TGT_PROBLEM])
            for out in transformed["problems"]] == expected


def test_whole_strings_and_character_lists_tokenize_alike():
    as_chars = tf.ragged.constant([[b"x", b"*", b"y"]])
    as_string = tf.constant([[b"x*y"]])
    assert tokens.joined(as_chars).numpy().tolist() == tokens.joined(as_string).numpy().tolist()
    ids, unknown = tokens.tokenize(tf.constant(["x*y", "x/y"]))
    assert ids.to_list() == [_ids("x*y"), [features.TOKEN_OF["x"], features.SPC,
                                           features.TOKEN_OF["y"]]]
    assert unknown.numpy().tolist() == [False, True]


def test_detokenize_stops_at_the_first_stop_token():
    ids = tf.constant([_ids("-12") + [features.STP, 5], _ids("7") + [features.STP] * 4,
                       _ids("12345")])
    assert tokens.detokenize(ids).numpy().tolist() == [b"-12", b"7", b"12345"]


def test_aligned_layout_gives_every_digit_a_fixed_place():
    defs = tf.constant(["x=-5,y=24", "y=007,x=-0", "x=1234,y=1", "x=3"])
    assert transform.aligned(defs, 3).numpy().tolist() == [
        b"x= -5,y= 24", b"y=  7,x=  0", b"x=1234,y=  1", b"x=3"]
    # With the operation, the left operand comes first; an op off the grammar changes nothing.
    ops = tf.constant(["y-x", "x*y", "y+x", "x*x"])
    assert transform.aligned(tf.constant(["x=-5,y=24", "y=7,x=0", "x=1,y=2", "y=1,x=2"]), 3,
                             ops).numpy().tolist() == [
        b"y= 24,x= -5", b"x=  0,y=  7", b"y=  2,x=  1", b"y=  1,x=  2"]


def test_aligned_encoder_inputs_have_one_length(transformed):
    outputs = transformed["aligned"]
    assert list(outputs[1][features.ENC]) == _ids("x=  0,y=  3") + [features.SEP] + _ids(
        "x*y") + [features.SEP]
    assert len(outputs[0][features.ENC]) == len(outputs[1][features.ENC]) == 16


def test_hints_hold_the_carry_into_each_place(transformed):
    assert [list(out[features.HINTS]) for out in transformed["hints"]] == [
        [0, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 8, 17, 9, 0], [0, 1, 0, 0, 0], [0, 1, 0, 0, 0]]


def test_larger_names_the_term_whose_sign_the_result_takes(transformed):
    from modules.hints import EQUAL, LEFT, RIGHT
    # y + x as 24 + -12 and x - y as 30 + -4: the left term; 57 + 68 (one sign) and a product:
    # nothing to decide; 3 + -40: the right one.
    assert [list(out[features.LARGER]) for out in transformed["hints"]] == [
        [LEFT] * 5, [EQUAL] * 5, [EQUAL] * 5, [LEFT] * 5, [RIGHT] * 5]
