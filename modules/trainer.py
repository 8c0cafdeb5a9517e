"""Trainer module: `run_fn` trains the sliding-context model on Transform's output and
exports it with its serving and evaluation signatures."""
import hashlib
import json
import logging
import math
import os
from typing import Optional

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras
from tfx_bsl.public import tfxio

from modules import export, features, model as model_lib, progress, throughput, transform
from modules.config import ModelConfig, warm_start_refusal

# custom_config keys: the ModelConfig as a dict, and the generator's operand bound.
MODEL_CONFIG = "model"
MAX_VAL = transform.MAX_VAL
# custom_config key of the trainer's source version (pipeline/source_version.py): it is part of
# the cache key, and of the checkpoints' key, so that edited code never resumes old checkpoints.
SOURCE_VERSION = "source_version"
# Written to the Trainer's model_run folder: how this training started.
START_REPORT = "start.json"
# Beside the Trainer's outputs: checkpoints of trainings in progress, one folder per training.
CHECKPOINTS = "checkpoints"


def model_inputs(config: ModelConfig):
    """Transformed batch -> ({enc, dec, tgt} ragged, labels [B, width_dec]), the labels
    followed by the label [B, width_dec] of each training-only head the model has."""
    def convert(batch):
        problems = tf.concat([batch[features.ENC_PROBLEM], batch[features.TGT_PROBLEM]], 0)
        check = tf.debugging.assert_equal(
            problems, tf.zeros_like(problems),
            message="training data holds examples with characters outside the vocabulary or "
                    "fields longer than the model's widths; the schema gate should stop them")
        with tf.control_dependencies([check]):
            inputs = {key: tf.RaggedTensor.from_sparse(batch[key])
                      for key in (features.ENC, features.DEC, features.TGT)}
        labels = model_lib.pad_labels(inputs[features.TGT], config.width_dec)
        heads = model_lib.training_heads(config)
        if not heads:
            return inputs, labels
        return inputs, (labels, *(tf.minimum(batch[head.feature], head.classes - 1)
                                  for head in heads))
    return convert


def input_fn(files, data_accessor, tft_output, config: ModelConfig, training: bool):
    dataset = data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(batch_size=config.dim_batch, drop_final_batch=training,
                                       shuffle=training, num_epochs=None if training else 1),
        tft_output.transformed_metadata.schema)
    return dataset.map(model_inputs(config),
                       num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def epochs_for(steps: int) -> int:
    """About ten progress lines per run, whatever the number of steps."""
    return max(1, min(10, steps))


class WarmStartError(RuntimeError):
    """The configuration only continues a pushed model (model.require_warm_start), and there is
    none this model can start from."""


def warm_start(model, config: ModelConfig, base_model: Optional[str]) -> str:
    """Loads the weights of `base_model` (the last pushed model's SavedModel) into `model` when
    their architectures match. Returns one line that says what happened; raises WarmStartError
    instead of training from scratch when the config requires a warm start."""
    reason = export.cannot_start_from(base_model, config)
    if reason and config.require_warm_start:
        raise WarmStartError(warm_start_refusal(reason))
    if reason:
        return "trained from scratch: " + reason
    # The saved model has no Hints head (modules/model.py, for_serving): the head starts anew.
    tf.train.Checkpoint(model=model_lib.result_only(model)).read(
        os.path.join(base_model, "variables", "variables")
    ).expect_partial().assert_existing_objects_matched()
    return f"warm-started from the last pushed model ({base_model})"


def checkpoint_dir(fn_args) -> str:
    """Where a training keeps its checkpoints across executions. The folder is keyed by all
    that the training depends on, so only the same training, run again after it was killed,
    resumes from them."""
    key = hashlib.sha256(json.dumps({
        "train": fn_args.train_files, "eval": fn_args.eval_files,
        "transform": fn_args.transform_output, "base_model": fn_args.base_model or "",
        "steps": [fn_args.train_steps, fn_args.eval_steps],
        "custom_config": fn_args.custom_config}, sort_keys=True).encode()).hexdigest()[:16]
    # model_run_dir is <pipeline root>/Trainer/model_run/<execution id>.
    component_root = os.path.dirname(os.path.dirname(fn_args.model_run_dir))
    return os.path.join(component_root, CHECKPOINTS, key)


class _EpochCheckpoint(tf_keras.callbacks.Callback):
    def __init__(self, manager: tf.train.CheckpointManager, steps_per_epoch: int):
        super().__init__()
        self._manager = manager
        self._steps_per_epoch = steps_per_epoch

    def on_epoch_end(self, epoch, logs=None):
        self._manager.save(checkpoint_number=(epoch + 1) * self._steps_per_epoch)


def resume(model, manager: tf.train.CheckpointManager) -> int:
    """Restores the newest checkpoint of an interrupted training (weights and optimizer state,
    so the learning-rate schedule goes on where it was); returns its step (0: none). The input
    pipeline is not restored: the resumed training reads newly shuffled batches."""
    if not manager.latest_checkpoint:
        return 0
    model.optimizer.build(model.trainable_variables)
    manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    return int(manager.latest_checkpoint.rsplit("-", 1)[1])


def run_fn(fn_args) -> None:
    config = ModelConfig(**fn_args.custom_config[MODEL_CONFIG])
    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    train = input_fn(fn_args.train_files, fn_args.data_accessor, tft_output, config, True)
    evaluation = input_fn(fn_args.eval_files, fn_args.data_accessor, tft_output, config, False)

    model = model_lib.build_model(config)
    start = warm_start(model, config, fn_args.base_model)
    epochs = epochs_for(fn_args.train_steps)
    steps_per_epoch = math.ceil(fn_args.train_steps / epochs)
    checkpoints = checkpoint_dir(fn_args)
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(model=model, optimizer=model.optimizer), checkpoints, max_to_keep=1)
    resumed_at = resume(model, manager)
    if resumed_at:
        start = (f"resumed at step {resumed_at} of {fn_args.train_steps} from the checkpoint "
                 f"of an interrupted run, which {start}")
    progress.report("Trainer: %s", start)
    tf.io.gfile.makedirs(fn_args.model_run_dir)
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, START_REPORT), "w") as f:
        json.dump({"start": start, "base_model": fn_args.base_model or "",
                   "resumed_at_step": resumed_at}, f)
    logging.info("training %d steps of %d examples", fn_args.train_steps, config.dim_batch)
    model.fit(
        train,
        epochs=epochs,
        initial_epoch=resumed_at // steps_per_epoch,
        steps_per_epoch=steps_per_epoch,
        validation_data=evaluation.repeat(),
        validation_steps=fn_args.eval_steps,
        callbacks=[
            tf_keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch"),
            throughput.Throughput(config.dim_batch, steps_per_epoch, fn_args.model_run_dir),
            throughput.TrainingProgress(steps_per_epoch * epochs, config.dim_batch,
                                      first_step=resumed_at),
            _EpochCheckpoint(manager, steps_per_epoch)],
        verbose=0)
    export.save(model_lib.for_serving(model, config), tft_output, config,
                fn_args.serving_model_dir,
                int(fn_args.custom_config[MAX_VAL]))
    # The training is done and the model is its result. Any other folder is an interrupted
    # training whose code, settings or data have changed since: dropped as well.
    tf.io.gfile.rmtree(os.path.dirname(checkpoints))
