"""The atomic Pusher executor on real artifacts and folders."""
import json
import os

import pytest
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts, standard_component_specs as keys
from tfx.utils import proto_utils

from components.atomic_pusher import executor, serving_dir
from components.atomic_pusher.serving_dir import versions as serving_versions


def _artifact(kind, uri, blessed=None):
    artifact = kind()
    artifact.uri = uri
    os.makedirs(uri, exist_ok=True)
    if blessed is not None:
        artifact.set_int_custom_property("blessed", int(blessed))
    return artifact


def _push(tmp_path, model_blessed=True, infra_blessed=True, inputs=None, custom_config=None):
    model = _artifact(standard_artifacts.Model, str(tmp_path / "model"))
    model.id = 41
    serving = os.path.join(model.uri, "Format-Serving")
    os.makedirs(os.path.join(serving, "variables"), exist_ok=True)
    open(os.path.join(serving, "saved_model.pb"), "wb").write(b"graph")
    open(os.path.join(serving, "variables", "variables.index"), "wb").write(b"weights")
    input_dict = {
        keys.MODEL_KEY: [model],
        keys.MODEL_BLESSING_KEY: [_artifact(standard_artifacts.ModelBlessing,
                                            str(tmp_path / "mb"), model_blessed)],
        keys.INFRA_BLESSING_KEY: [_artifact(standard_artifacts.InfraBlessing,
                                            str(tmp_path / "ib"), infra_blessed)],
    }
    if inputs is not None:
        input_dict = {k: v for k, v in input_dict.items() if k in inputs}
    pushed = _artifact(standard_artifacts.PushedModel, str(tmp_path / "pushed"))
    destination = pusher_pb2.PushDestination(filesystem=pusher_pb2.PushDestination.Filesystem(
        base_directory=str(tmp_path / "serving")))
    exec_properties = {keys.PUSH_DESTINATION_KEY: proto_utils.proto_to_json(destination)}
    if custom_config is not None:
        exec_properties[keys.CUSTOM_CONFIG_KEY] = json.dumps(custom_config)
    executor.Executor().Do(input_dict, {keys.PUSHED_MODEL_KEY: [pushed]}, exec_properties)
    return pushed, str(tmp_path / "serving")


def test_blessed_model_lands_whole_in_a_new_version(tmp_path):
    pushed, serving = _push(tmp_path)
    (version,) = os.listdir(serving)
    assert version.isdigit()
    assert pushed.get_int_custom_property("pushed") == 1
    assert pushed.get_string_custom_property("pushed_version") == version
    assert pushed.get_int_custom_property("pushed_model_id") == 41
    assert open(os.path.join(serving, version, "saved_model.pb"), "rb").read() == b"graph"
    assert os.path.exists(os.path.join(serving, version, "variables", "variables.index"))


def _served(serving: str, version: str) -> None:
    """A version as readers see it: a folder with its saved_model.pb (the commit file)."""
    os.makedirs(os.path.join(serving, version))
    open(os.path.join(serving, version, "saved_model.pb"), "wb").close()


def test_versions_always_increase_even_within_one_second(tmp_path):
    serving = str(tmp_path / "serving")
    _served(serving, "99999999999")
    assert serving_dir.next_version(serving) == 100000000000
    _, _ = _push(tmp_path)
    assert serving_versions(serving) == [99999999999, 100000000000]


@pytest.mark.parametrize("model_blessed,infra_blessed", [(False, True), (True, False)])
def test_a_model_missing_either_blessing_is_not_pushed(tmp_path, model_blessed, infra_blessed):
    pushed, serving = _push(tmp_path, model_blessed, infra_blessed)
    assert pushed.get_int_custom_property("pushed") == 0
    assert not os.path.exists(serving) or os.listdir(serving) == []


def test_refuses_to_run_without_both_blessing_inputs(tmp_path):
    with pytest.raises(ValueError, match="needs both blessings"):
        _push(tmp_path, inputs={keys.MODEL_KEY, keys.MODEL_BLESSING_KEY})


def test_a_folder_without_a_saved_model_is_refused(tmp_path):
    serving = str(tmp_path / "serving")
    with pytest.raises(ValueError, match="saved_model.pb missing"):
        serving_dir.publish(str(tmp_path / "no-such-model"), serving)
    assert not os.path.exists(serving) or os.listdir(serving) == []


def test_keep_versions_removes_the_oldest_after_a_push(tmp_path):
    serving = str(tmp_path / "serving")
    for version in ("100", "200", "300"):
        _served(serving, version)
    pushed, _ = _push(tmp_path, custom_config={executor.KEEP_VERSIONS: 2})
    new = int(pushed.get_string_custom_property("pushed_version"))
    assert serving_dir.versions(serving) == [300, new]
    assert sorted(os.listdir(serving)) == sorted(["300", str(new)])  # nothing hidden left


def test_keep_never_removes_the_served_version(tmp_path):
    serving = str(tmp_path / "serving")
    _served(serving, "7")
    with pytest.raises(ValueError, match="at least 1"):
        serving_dir.remove_oldest(serving, 0)
    assert serving_dir.remove_oldest(serving, 1) == []
    assert serving_dir.versions(serving) == [7]
