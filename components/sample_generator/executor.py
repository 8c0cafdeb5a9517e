"""Beam executor of SampleGenerator: validates its parameters, writes the span, records it."""
import json
import logging
import os
from typing import Any, Dict, List

from tfx import types
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

import tensorflow as tf

from components.sample_generator import parameters, span_writer, spec

# Custom property of the output: the span's files as ImportExampleGen fingerprints them.
INPUT_FINGERPRINT = "input_fingerprint"


class Executor(base_beam_executor.BaseBeamExecutor):
    """Generates the samples in parallel, one Beam element per shard."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        config = parameters.config_from(exec_properties)
        data_root = exec_properties[spec.DATA_ROOT]
        logging.info("SampleGenerator: %d samples in %d shards, seed %d, span %d -> %s",
                     config.samples, config.shards, config.seed, config.span, data_root)
        manifest, reused = span_writer.write_span(config, data_root, self._make_beam_pipeline)

        out = artifact_utils.get_single_instance(output_dict[spec.SAMPLES_OUT])
        custom_properties = {**parameters.artifact_properties(config),
                             "data_dir": span_writer.span_dir(data_root, config.span)}
        setters = {int: out.set_int_custom_property, float: out.set_float_custom_property,
                   str: out.set_string_custom_property, bool: out.set_bool_custom_property}
        for key, value in custom_properties.items():
            setters[type(value)](key, value)
        out.set_int_custom_property("reused_existing_span", int(reused))
        out.set_string_custom_property(INPUT_FINGERPRINT,
                                       span_writer.fingerprint(data_root, config.span))
        with tf.io.gfile.GFile(os.path.join(out.uri, span_writer.MANIFEST), "w") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
