"""Cleaning up after a run that was killed, before the next run on the same root starts (under
the root's lock, so no other run is using what is removed here).

A killed run can leave hidden staging folders (a span or a pushed version being written; never
visible to readers, which skip hidden names) and executions that the metadata store still
calls RUNNING. The folders are removed and the executions marked CANCELED, so that the store
says what happened.
"""
import os
import shutil
from typing import List

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from components.atomic_pusher import serving_dir as serving_layout
from components.sample_generator import span_writer
from pipeline.paths import Paths

_UNFINISHED = (metadata_store_pb2.Execution.NEW, metadata_store_pb2.Execution.RUNNING)


def staging_leftovers(paths: Paths) -> List[str]:
    """Hidden folders of unfinished spans, pushes and removals."""
    found = []
    for folder, prefixes in ((paths.data_root, (span_writer.STAGING_PREFIX,)),
                             (paths.serving_dir, (serving_layout.STAGING_PREFIX,
                                                  serving_layout.REMOVING_PREFIX))):
        if os.path.isdir(folder):
            found += [os.path.join(folder, name) for name in sorted(os.listdir(folder))
                      if name.startswith(prefixes)]
    return found


def interrupted_executions(paths: Paths, mark: bool) -> List[str]:
    """Executions left NEW or RUNNING, as "<type> <id>"; with `mark`, marked CANCELED."""
    if not os.path.exists(paths.metadata_path):
        return []
    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = paths.metadata_path
    store = metadata_store.MetadataStore(connection)
    stuck = [execution for execution in store.get_executions()
             if execution.last_known_state in _UNFINISHED]
    if not stuck:
        return []
    types = {kind.id: kind.name for kind in store.get_execution_types_by_id(
        sorted({execution.type_id for execution in stuck}))}
    if mark:
        for execution in stuck:
            execution.last_known_state = metadata_store_pb2.Execution.CANCELED
            execution.custom_properties["cancel_reason"].string_value = (
                "its run was interrupted; marked by the next run on this root")
        store.put_executions(stuck)
    return [f"{types.get(execution.type_id, '?').split('.')[-1]} {execution.id}"
            for execution in stuck]


def recover(paths: Paths) -> List[str]:
    """Removes staging leftovers and marks interrupted executions; one line per thing done."""
    notes = []
    for path in staging_leftovers(paths):
        shutil.rmtree(path, ignore_errors=True)
        notes.append(f"removed {path}, left by an interrupted run (never visible to readers)")
    stuck = interrupted_executions(paths, mark=True)
    if stuck:
        notes.append(f"marked {len(stuck)} interrupted execution(s) CANCELED in the metadata "
                     f"store: {', '.join(stuck)}")
    return notes
