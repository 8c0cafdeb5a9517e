"""Reading a run's ML Metadata store in tests: executions per pipeline node."""
from typing import Dict, List

from ml_metadata.proto import metadata_store_pb2

from pipeline.state.metadata import Store


def executions_by_node(metadata_path: str) -> Dict[str, List[metadata_store_pb2.Execution]]:
    """{node id: executions}, oldest first; node contexts are named `<pipeline>.<node id>`."""
    mlmd = Store(metadata_path).mlmd
    result = {}
    for context in mlmd.get_contexts_by_type("node"):
        node = context.name.split(".", 1)[1]
        result[node] = sorted(mlmd.get_executions_by_context(context.id), key=lambda e: e.id)
    return result


def states(executions) -> List[str]:
    return [metadata_store_pb2.Execution.State.Name(e.last_known_state) for e in executions]
