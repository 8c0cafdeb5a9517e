"""A Pusher executor whose pushes are atomic: a reader of the serving directory sees a
version whole or not at all. TFX's own filesystem push copies file by file into the final
version folder; this one copies into a hidden staging folder and renames it into place."""
import json
import logging
import os
from typing import Any, Dict, List

from tfx import types
from tfx.components.pusher import executor as tfx_pusher
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

from components.atomic_pusher import serving_dir as serving_layout
from components.atomic_pusher.properties import NOT_PUSHED_REASON, PUSHED_MODEL_ID

# Pusher(custom_config={KEEP_VERSIONS: N}): after a push, keep only the newest N versions.
KEEP_VERSIONS = "keep_versions"
REQUIRED_BLESSINGS = (standard_component_specs.MODEL_BLESSING_KEY,
                      standard_component_specs.INFRA_BLESSING_KEY)


class Executor(tfx_pusher.Executor):
    """Pushes only models blessed by every blessing input (Evaluator and ServingCheck)."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        model_push = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        missing = [key for key in REQUIRED_BLESSINGS if not input_dict.get(key)]
        if missing:
            # TFX's Pusher would push an unvalidated model here; this one never does.
            raise ValueError(f"Pusher needs both blessings; missing inputs: {missing}")
        if not self.CheckBlessing(input_dict):
            logging.warning("model not pushed: it lacks a blessing (see Evaluator and "
                            "ServingCheck)")
            self._MarkNotPushed(model_push)
            return
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY],
                                  destination)
        if destination.WhichOneof("destination") != "filesystem":
            raise ValueError(f"push_destination must be a filesystem destination, got "
                             f"{destination.WhichOneof('destination')!r}")
        serving_dir = destination.filesystem.base_directory
        model_path = self.GetModelPath(input_dict)
        served = serving_layout.versions(serving_dir)
        if served and serving_layout.same_model(
                model_path, os.path.join(serving_dir, str(served[-1]))):
            # A re-run with nothing changed: a second copy would only be a new version number.
            reason = f"this model is already served as version {served[-1]}"
            logging.warning("model not pushed: %s", reason)
            self._MarkNotPushed(model_push)
            model_push.set_string_custom_property(NOT_PUSHED_REASON, reason)
            return
        version = str(serving_layout.publish(model_path, serving_dir))
        logging.info("model pushed to %s as version %s", serving_dir, version)
        io_utils.copy_dir(model_path, model_push.uri)
        self._MarkPushed(model_push, pushed_destination=os.path.join(serving_dir, version),
                         pushed_version=version)
        # Which Model this is, for LatestPushedModelStrategy (warm starts, the baseline).
        model = artifact_utils.get_single_instance(input_dict[standard_component_specs.MODEL_KEY])
        model_push.set_int_custom_property(PUSHED_MODEL_ID, model.id)
        # Retention last, and never failing the push: the new version is live already, and a
        # failed execution would leave it out of the metadata store.
        keep = _keep_versions(exec_properties)
        if keep:
            try:
                removed = serving_layout.remove_oldest(serving_dir, keep)
            except Exception as error:  # pylint: disable=broad-except
                logging.warning("old versions not removed (keep %d): %s", keep, error)
            else:
                if removed:
                    logging.info("removed versions %s (keeping the newest %d)",
                                 ", ".join(map(str, removed)), keep)


def _keep_versions(exec_properties: Dict[str, Any]) -> int:
    custom_config = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or "{}"
    if isinstance(custom_config, str):
        custom_config = json.loads(custom_config)
    return int(custom_config.get(KEEP_VERSIONS, 0))
