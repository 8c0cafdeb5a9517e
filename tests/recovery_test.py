"""Clean-up after a killed run: staging folders go, interrupted executions are marked."""
import os

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from pipeline.paths import Paths
from pipeline.state import recovery


def _store(path):
    connection = pb.ConnectionConfig()
    connection.sqlite.filename_uri = path
    return metadata_store.MetadataStore(connection)


def test_staging_folders_go_and_committed_ones_stay(tmp_path):
    paths = Paths(str(tmp_path))
    for folder in ("data/.span-3.staging-ab12", "data/span-2", "serving/.staging-17-cd34",
                   "serving/.removing-15-ef56", "serving/16"):
        os.makedirs(os.path.join(paths.root, folder))
    notes = recovery.recover(paths)
    assert len(notes) == 3, notes
    assert sorted(os.listdir(paths.data_root)) == ["span-2"]
    assert sorted(os.listdir(paths.serving_dir)) == ["16"]
    assert recovery.recover(paths) == []


def test_executions_left_running_are_marked_canceled(tmp_path):
    paths = Paths(str(tmp_path))
    store = _store(paths.metadata_path)
    kind = store.put_execution_type(pb.ExecutionType(name="tfx.components.trainer.Trainer"))
    done, killed = store.put_executions([
        pb.Execution(type_id=kind, last_known_state=pb.Execution.COMPLETE),
        pb.Execution(type_id=kind, last_known_state=pb.Execution.RUNNING)])
    notes = recovery.recover(paths)
    assert notes == [f"marked 1 interrupted execution(s) CANCELED in the metadata store: "
                     f"Trainer {killed}"]
    states = {e.id: e.last_known_state for e in _store(paths.metadata_path).get_executions()}
    assert states == {done: pb.Execution.COMPLETE, killed: pb.Execution.CANCELED}
