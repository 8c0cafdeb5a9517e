"""Trainer module: `run_fn` trains the sliding-context model on Transform's output and
exports it with its serving and evaluation signatures."""
import logging
import math

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras
from tfx_bsl.public import tfxio

from modules import export, features, model as model_lib, throughput
from pipeline.config import ModelConfig

# custom_config key under which the factory passes the ModelConfig as a dict.
MODEL_CONFIG = "model"


def model_inputs(config: ModelConfig):
    """Transformed batch -> ({enc, dec, tgt} ragged, labels [B, width_dec])."""
    def convert(batch):
        problems = tf.concat([batch[features.ENC_PROBLEM], batch[features.TGT_PROBLEM]], 0)
        check = tf.debugging.assert_equal(
            problems, tf.zeros_like(problems),
            message="training data holds examples with characters outside the vocabulary or "
                    "fields longer than the model's widths; the schema gate should stop them")
        with tf.control_dependencies([check]):
            inputs = {key: tf.RaggedTensor.from_sparse(batch[key])
                      for key in (features.ENC, features.DEC, features.TGT)}
        return inputs, model_lib.pad_labels(inputs[features.TGT], config.width_dec)
    return convert


def input_fn(files, data_accessor, tft_output, config: ModelConfig, training: bool):
    dataset = data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(batch_size=config.dim_batch, drop_final_batch=training,
                                       shuffle=training, num_epochs=None if training else 1),
        tft_output.transformed_metadata.schema)
    return dataset.map(model_inputs(config), num_parallel_calls=tf.data.AUTOTUNE)


def epochs_for(steps: int) -> int:
    """About ten progress lines per run, whatever the number of steps."""
    return max(1, min(10, steps))


def run_fn(fn_args) -> None:
    config = ModelConfig(**fn_args.custom_config[MODEL_CONFIG])
    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    train = input_fn(fn_args.train_files, fn_args.data_accessor, tft_output, config, True)
    evaluation = input_fn(fn_args.eval_files, fn_args.data_accessor, tft_output, config, False)

    model = model_lib.build_model(config)
    epochs = epochs_for(fn_args.train_steps)
    steps_per_epoch = math.ceil(fn_args.train_steps / epochs)
    logging.info("training %d steps of %d examples", fn_args.train_steps, config.dim_batch)
    model.fit(
        train,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=evaluation.repeat(),
        validation_steps=fn_args.eval_steps,
        callbacks=[
            tf_keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch"),
            throughput.Throughput(config.dim_batch, steps_per_epoch, fn_args.model_run_dir)],
        verbose=2)
    export.save(model, tft_output, config, fn_args.serving_model_dir)
