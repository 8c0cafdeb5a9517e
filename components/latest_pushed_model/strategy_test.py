"""LatestPushedModelStrategy on real TFX artifacts: only models that were really pushed."""
import pytest
from tfx.types import standard_artifacts

from components.atomic_pusher.properties import PUSHED, PUSHED_MODEL_ID
from components.latest_pushed_model.strategy import (
    MODEL_KEY, PUSHED_MODEL_KEY, LatestPushedModelStrategy)


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


def _lineage_store(spans):
    """A real (in-memory) MLMD store where model i was trained, through Transform, on span
    spans[i]: Examples -> Transform -> transformed Examples -> Trainer -> Model."""
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as pb
    connection = pb.ConnectionConfig()
    connection.fake_database.SetInParent()
    store = metadata_store.MetadataStore(connection)
    artifact_type = store.put_artifact_type(pb.ArtifactType(name="Thing"))
    execution_type = store.put_execution_type(pb.ExecutionType(name="Step"))

    def artifact(span=None):
        item = pb.Artifact(type_id=artifact_type)
        if span is not None:
            item.custom_properties["span"].int_value = span
        return store.put_artifacts([item])[0]

    def step(input_id, output_id):
        (execution,) = store.put_executions([pb.Execution(type_id=execution_type)])
        events = [pb.Event(artifact_id=input_id, execution_id=execution, type=pb.Event.INPUT),
                  pb.Event(artifact_id=output_id, execution_id=execution, type=pb.Event.OUTPUT)]
        events[0].path.steps.add().key = "examples"
        store.put_events(events)

    model_ids = []
    for span in spans:
        examples, transformed, model = artifact(span), artifact(), artifact()
        step(examples, transformed)
        step(transformed, model)
        model_ids.append(model)
    return store, model_ids


def test_before_span_takes_the_last_push_trained_on_an_earlier_span():
    store, (on_1, on_2, on_3) = _lineage_store([1, 2, 3])
    models = [_model(on_1), _model(on_2), _model(on_3)]
    pushes = [_push(10, on_1, True), _push(11, on_2, True), _push(12, on_3, True)]
    resolve = LatestPushedModelStrategy(before_span=3).resolve_artifacts
    assert [m.id for m in resolve(store, {MODEL_KEY: models, PUSHED_MODEL_KEY: pushes})[
        MODEL_KEY]] == [on_2]
    # Re-running span 2 starts from span 1's model, as it did the first time.
    resolve = LatestPushedModelStrategy(before_span=2).resolve_artifacts
    assert [m.id for m in resolve(store, {MODEL_KEY: models, PUSHED_MODEL_KEY: pushes})[
        MODEL_KEY]] == [on_1]
    resolve = LatestPushedModelStrategy(before_span=1).resolve_artifacts
    assert resolve(store, {MODEL_KEY: models, PUSHED_MODEL_KEY: pushes})[MODEL_KEY] == []
