"""Which span a run takes over from an interrupted one: the same generator settings, including
a record written before a generator field existed (it drew as the field's default does)."""
import dataclasses
import json

from modules import config
from pipeline.commands import run
from pipeline.state import run_lock


def _left(generator_key, span=3):
    """A dead run's lock record as it reads back from the file."""
    record = json.loads(json.dumps({"pid": 1, "span": span, "generator": generator_key}))
    return run_lock.Lock(handle=None, record={}, left=record)


def test_the_interrupted_runs_span_is_taken_over_with_the_same_settings():
    profile = config.profile("seed")
    assert run._span_to_resume(_left(run._generator_key(profile)), profile) == 3


def test_a_record_without_a_later_field_is_taken_over_when_the_field_is_at_its_default():
    profile = config.profile("seed")
    older = {key: value for key, value in run._generator_key(profile).items()
             if key != "cancel_x_draw"}
    assert run._span_to_resume(_left(older), profile) == 3
    drawn_otherwise = dataclasses.replace(profile, generator=dataclasses.replace(
        profile.generator, cancel_x_draw="digits"))
    assert run._span_to_resume(_left(older), drawn_otherwise) == 0


def test_other_settings_or_an_explicit_span_start_no_takeover():
    profile = config.profile("seed")
    other_seed = dataclasses.replace(profile, generator=dataclasses.replace(
        profile.generator, seed=2))
    assert run._span_to_resume(_left(run._generator_key(profile)), other_seed) == 0
    explicit = dataclasses.replace(profile, generator=dataclasses.replace(
        profile.generator, span=5))
    assert run._span_to_resume(_left(run._generator_key(explicit)), explicit) == 0
    assert run._span_to_resume(run_lock.Lock(handle=None, record={}), profile) == 0
