"""Beam executor of SampleGenerator: validates its parameters, writes the span, records it."""
import json
import logging
import os
from typing import Any, Dict, List

from tfx import types
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

import tensorflow as tf

from components.sample_generator import properties, span_writer, spec
from modules.config import GeneratorConfig, validate_generator


def config_from(exec_properties: Dict[str, Any]) -> GeneratorConfig:
    config = GeneratorConfig(
        samples=int(exec_properties[spec.SAMPLES]), seed=int(exec_properties[spec.SEED]),
        shards=int(exec_properties[spec.SHARDS]), max_val=int(exec_properties[spec.MAX_VAL]),
        ops=tuple(op for op in str(exec_properties[spec.OPS]).split(",") if op),
        draw=str(exec_properties[spec.DRAW]),
        op_weights=tuple(float(weight) for weight in
                         str(exec_properties[spec.OP_WEIGHTS]).split(",") if weight),
        ends_share=float(exec_properties[spec.ENDS_SHARE]),
        cancel_share=float(exec_properties[spec.CANCEL_SHARE]),
        span=int(exec_properties[spec.SPAN]))
    validate_generator(config)
    return config


# Custom property of the output: the span's files as ImportExampleGen fingerprints them.
INPUT_FINGERPRINT = "input_fingerprint"


class Executor(base_beam_executor.BaseBeamExecutor):
    """Generates the samples in parallel, one Beam element per shard."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        config = config_from(exec_properties)
        data_root = exec_properties[spec.DATA_ROOT]
        logging.info("SampleGenerator: %d samples in %d shards, seed %d, span %d -> %s",
                     config.samples, config.shards, config.seed, config.span, data_root)
        manifest, reused = span_writer.write_span(config, data_root, self._make_beam_pipeline)

        out = artifact_utils.get_single_instance(output_dict[spec.SAMPLES_OUT])
        fields = {"span": config.span, "seed": config.seed, "num_samples": config.samples,
                  "num_shards": config.shards, "max_val": config.max_val,
                  "ops": ",".join(config.ops), "draw": config.draw,
                  "op_weights": ",".join(map(str, config.op_weights)),
                  "ends_share": config.ends_share, "cancel_share": config.cancel_share,
                  "data_dir": span_writer.span_dir(data_root, config.span)}
        for key in properties.INT_FIELDS:
            out.set_int_custom_property(key, fields[key])
        for key in properties.STRING_FIELDS:
            out.set_string_custom_property(key, fields[key])
        for key in properties.FLOAT_FIELDS:
            out.set_float_custom_property(key, fields[key])
        out.set_int_custom_property("reused_existing_span", int(reused))
        out.set_string_custom_property(INPUT_FINGERPRINT,
                                       span_writer.fingerprint(data_root, config.span))
        with tf.io.gfile.GFile(os.path.join(out.uri, span_writer.MANIFEST), "w") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
