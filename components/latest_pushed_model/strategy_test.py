"""LatestPushedModelStrategy on real TFX artifacts: only models that were really pushed."""
import pytest
from tfx.types import standard_artifacts

from components.latest_pushed_model.strategy import (
    MODEL_KEY, PUSHED, PUSHED_MODEL_ID, PUSHED_MODEL_KEY, LatestPushedModelStrategy)


def _model(artifact_id):
    model = standard_artifacts.Model()
    model.id = artifact_id
    return model


def _push(artifact_id, model_id, pushed):
    push = standard_artifacts.PushedModel()
    push.id = artifact_id
    push.set_int_custom_property(PUSHED, int(pushed))
    if pushed:
        push.set_int_custom_property(PUSHED_MODEL_ID, model_id)
    return push


def _resolve(models, pushes):
    return LatestPushedModelStrategy().resolve_artifacts(
        None, {MODEL_KEY: models, PUSHED_MODEL_KEY: pushes})


def test_the_newest_push_that_happened_wins():
    models = [_model(1), _model(2), _model(3)]
    # Model 3 was newer but refused (not pushed); model 2 was the last one pushed.
    result = _resolve(models, [_push(10, 1, True), _push(11, 2, True), _push(12, 3, False)])
    assert [m.id for m in result[MODEL_KEY]] == [2]
    assert [p.id for p in result[PUSHED_MODEL_KEY]] == [11]


def test_nothing_before_the_first_push():
    assert _resolve([_model(1)], [_push(10, 1, False)]) == {MODEL_KEY: [], PUSHED_MODEL_KEY: []}
    assert _resolve([], []) == {MODEL_KEY: [], PUSHED_MODEL_KEY: []}


def test_wrong_inputs_are_named():
    with pytest.raises(ValueError, match="expects the inputs"):
        LatestPushedModelStrategy().resolve_artifacts(None, {MODEL_KEY: []})
