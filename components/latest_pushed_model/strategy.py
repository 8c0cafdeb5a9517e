"""A resolver strategy for the last model the Pusher actually pushed.

TFX's LatestBlessedModelStrategy returns the latest model the Evaluator blessed, even one that
ServingCheck then refused and that was never served. Warm starts and the Evaluator's baseline
should be the model users are served: the newest PushedModel with `pushed` = 1, whose
`pushed_model_id` (set by the atomic Pusher) names the Model artifact it came from.

With `before_span=S` it returns the last pushed model trained on a span before S, found through
the metadata store's lineage (Model <- Trainer <- Transform <- Examples with its span). The
Trainer warm-starts from that one: training on span S then always starts from the same model,
so re-running span S with nothing changed reuses the cached Trainer instead of training the
served model once more on the data it has already seen.
"""
from typing import Dict, List, Optional

from ml_metadata.proto import metadata_store_pb2
from tfx import types
from tfx.dsl.components.common import resolver

from components.atomic_pusher.properties import PUSHED, PUSHED_MODEL_ID


MODEL_KEY = "model"
PUSHED_MODEL_KEY = "pushed_model"
# Resolver config key.
BEFORE_SPAN = "before_span"


def _producer(store, artifact_id: int) -> Optional[int]:
    for event in store.get_events_by_artifact_ids([artifact_id]):
        if event.type == metadata_store_pb2.Event.OUTPUT:
            return event.execution_id
    return None


def _input(store, execution_id: Optional[int], key: str):
    if execution_id is None:
        return None
    ids = [event.artifact_id for event in store.get_events_by_execution_ids([execution_id])
           if event.type == metadata_store_pb2.Event.INPUT and event.path.steps
           and event.path.steps[0].key == key]
    return store.get_artifacts_by_id(ids[:1])[0] if ids else None


def trained_span(store, model_id: int) -> Optional[int]:
    """The span of the examples a Model was trained on, or None when lineage does not say."""
    transformed = _input(store, _producer(store, model_id), "examples")
    examples = _input(store, _producer(store, transformed.id), "examples") if transformed else None
    if examples is None:
        return None
    for properties in (examples.properties, examples.custom_properties):
        if "span" in properties:
            return properties["span"].int_value
    return None


class LatestPushedModelStrategy(resolver.ResolverStrategy):
    """Resolves {model: [the last pushed Model]} (empty lists before the first push).

        Resolver(strategy_class=LatestPushedModelStrategy, config={"before_span": S},
                 model=Channel(type=Model), pushed_model=Channel(type=PushedModel))
    """

    def __init__(self, before_span: int = 0):
        self._before_span = before_span

    def resolve_artifacts(self, store, input_dict: Dict[str, List[types.Artifact]]
                          ) -> Optional[Dict[str, List[types.Artifact]]]:
        if set(input_dict) != {MODEL_KEY, PUSHED_MODEL_KEY}:
            raise ValueError(f"LatestPushedModelStrategy expects the inputs {MODEL_KEY!r} and "
                             f"{PUSHED_MODEL_KEY!r}, received {sorted(input_dict)}")
        models = {model.id: model for model in input_dict[MODEL_KEY]}
        pushes = sorted((push for push in input_dict[PUSHED_MODEL_KEY]
                         if push.get_int_custom_property(PUSHED) == 1),
                        key=lambda push: push.id, reverse=True)
        for push in pushes:
            model = models.get(push.get_int_custom_property(PUSHED_MODEL_ID))
            if model is None:
                continue
            if self._before_span:
                span = trained_span(store, model.id)
                if span is None or span >= self._before_span:
                    continue
            return {MODEL_KEY: [model], PUSHED_MODEL_KEY: [push]}
        return {MODEL_KEY: [], PUSHED_MODEL_KEY: []}
