"""A resolver strategy for the last model the Pusher actually pushed.

TFX's LatestBlessedModelStrategy returns the latest model the Evaluator blessed, even one that
ServingCheck then refused and that was never served. Warm starts and the Evaluator's baseline
should be the model users are served: the newest PushedModel with `pushed` = 1, whose
`pushed_model_id` (set by the atomic Pusher) names the Model artifact it came from.
"""
from typing import Dict, List, Optional

from tfx import types
from tfx.dsl.components.common import resolver

# Custom properties of PushedModel artifacts.
PUSHED = "pushed"
PUSHED_MODEL_ID = "pushed_model_id"

MODEL_KEY = "model"
PUSHED_MODEL_KEY = "pushed_model"


class LatestPushedModelStrategy(resolver.ResolverStrategy):
    """Resolves {model: [the last pushed Model]} (empty lists before the first push).

        Resolver(strategy_class=LatestPushedModelStrategy,
                 model=Channel(type=Model), pushed_model=Channel(type=PushedModel))
    """

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
            if model is not None:
                return {MODEL_KEY: [model], PUSHED_MODEL_KEY: [push]}
        return {MODEL_KEY: [], PUSHED_MODEL_KEY: []}
