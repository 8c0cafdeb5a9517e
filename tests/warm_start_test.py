"""The Trainer's warm start reads a pushed model's weights whether that model was exported with
tf_keras's per-layer traces (every export before 2026-12-07) or without them (modules/export.py
now): the variables keep their place in the object graph, though their key names differ."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from tf_keras.src.saving.legacy.saved_model import utils as keras_saving

from modules import export, model as model_lib, trainer
from modules.config import ModelConfig

# Small, in float32 and with the Hints head: the pushed model has no head, the new one has it.
CONFIG = ModelConfig(dim_batch=4, dim_hidden=16, dim_dense=32, dim_heads=2, dim_stacks=1,
                     width_enc=24, width_dec=6, precision="float32", hint_weight=1.0)


def _pushed(directory, save_traces: bool):
    """A SavedModel laid out as export.save lays one out (its model under `model`), with the
    record that warm_start checks the dimensions against."""
    model = model_lib.build_model(CONFIG)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.get_weights()])
    module = tf.Module()
    module.model = model_lib.for_serving(model, CONFIG)
    with keras_saving.keras_option_scope(save_traces=save_traces):
        tf.saved_model.save(module, directory)
    export.write_info(directory, CONFIG, max_val=9)
    return module.model


@pytest.mark.parametrize("save_traces", [True, False], ids=["with_traces", "without_traces"])
def test_warm_start_reads_the_weights_of_either_export(tmp_path, save_traces):
    pushed = _pushed(str(tmp_path / "pushed"), save_traces)
    fresh = model_lib.build_model(CONFIG)
    said = trainer.warm_start(fresh, CONFIG, str(tmp_path / "pushed"))
    assert said.startswith("warm-started from the last pushed model"), said
    served = model_lib.result_only(fresh)
    assert len(served.weights) == len(pushed.weights) > 0
    for mine, theirs in zip(served.weights, pushed.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=mine.name)


def test_a_continuation_refuses_to_train_from_scratch(tmp_path):
    required = dataclasses.replace(CONFIG, require_warm_start=True)
    with pytest.raises(trainer.WarmStartError, match="no pushed model to start from; push"):
        trainer.warm_start(model_lib.build_model(required), required, None)
    pushed = str(tmp_path / "pushed")
    _pushed(pushed, save_traces=False)
    wider = dataclasses.replace(required, dim_dense=64)
    with pytest.raises(trainer.WarmStartError, match=r"dimensions differ \(dim_dense 32 -> 64\)"):
        trainer.warm_start(model_lib.build_model(wider), wider, pushed)
    # Without the requirement that model trains from scratch; with it, a pushed model of the
    # same dimensions is started from.
    plain = dataclasses.replace(wider, require_warm_start=False)
    assert trainer.warm_start(model_lib.build_model(plain), plain, pushed).startswith(
        "trained from scratch: the last pushed model's dimensions differ")
    assert trainer.warm_start(model_lib.build_model(required), required, pushed).startswith(
        "warm-started from the last pushed model")
