"""Read-only access to a run's ML Metadata: artifacts, the executions that made and used
them, and the custom properties TFX records."""
import json
import os
from typing import Dict, List, Optional

from google.protobuf import json_format
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2


class MetadataError(RuntimeError):
    """The store is missing or lacks what was asked for."""


class Store:
    def __init__(self, metadata_path: str):
        if not os.path.exists(metadata_path):
            raise MetadataError(f"no ML Metadata store at {metadata_path}: run `arith-tfx run` "
                                "first (or pass the --root of an earlier run)")
        connection = metadata_store_pb2.ConnectionConfig()
        connection.sqlite.filename_uri = metadata_path
        connection.sqlite.connection_mode = \
            metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
        self.mlmd = metadata_store.MetadataStore(connection)
        self._type_names = {}

    def type_name(self, artifact: metadata_store_pb2.Artifact) -> str:
        if artifact.type_id not in self._type_names:
            (kind,) = self.mlmd.get_artifact_types_by_id([artifact.type_id])
            self._type_names[artifact.type_id] = kind.name
        return self._type_names[artifact.type_id]

    def artifacts(self, type_name: str) -> List[metadata_store_pb2.Artifact]:
        """Live artifacts of a type, newest first."""
        found = [a for a in self.mlmd.get_artifacts_by_type(type_name)
                 if a.state == metadata_store_pb2.Artifact.LIVE]
        return sorted(found, key=lambda a: a.id, reverse=True)

    def _events(self, artifact_id: int, kind) -> List[metadata_store_pb2.Event]:
        return [e for e in self.mlmd.get_events_by_artifact_ids([artifact_id]) if e.type == kind]

    def producer(self, artifact: metadata_store_pb2.Artifact
                 ) -> Optional[metadata_store_pb2.Execution]:
        events = self._events(artifact.id, metadata_store_pb2.Event.OUTPUT)
        if not events:
            return None
        return self.mlmd.get_executions_by_id([events[0].execution_id])[0]

    def _linked(self, execution: metadata_store_pb2.Execution, kind
                ) -> Dict[str, List[metadata_store_pb2.Artifact]]:
        """{input or output key: artifacts} of an execution."""
        events = [e for e in self.mlmd.get_events_by_execution_ids([execution.id])
                  if e.type == kind]
        artifacts = {a.id: a for a in self.mlmd.get_artifacts_by_id(
            [e.artifact_id for e in events])}
        result: Dict[str, List[metadata_store_pb2.Artifact]] = {}
        for event in events:
            key = event.path.steps[0].key if event.path.steps else ""
            result.setdefault(key, []).append(artifacts[event.artifact_id])
        return result

    def inputs(self, execution: metadata_store_pb2.Execution
               ) -> Dict[str, List[metadata_store_pb2.Artifact]]:
        return self._linked(execution, metadata_store_pb2.Event.INPUT)

    def outputs(self, execution: metadata_store_pb2.Execution
                ) -> Dict[str, List[metadata_store_pb2.Artifact]]:
        return self._linked(execution, metadata_store_pb2.Event.OUTPUT)

    def consumers(self, artifact: metadata_store_pb2.Artifact
                  ) -> List[metadata_store_pb2.Execution]:
        ids = [e.execution_id for e in self._events(artifact.id, metadata_store_pb2.Event.INPUT)]
        return self.mlmd.get_executions_by_id(ids) if ids else []

    def execution_type(self, execution: metadata_store_pb2.Execution) -> str:
        (kind,) = self.mlmd.get_execution_types_by_id([execution.type_id])
        return kind.name

    def _live_newest_first(self, artifacts: List[metadata_store_pb2.Artifact],
                           type_name: Optional[str]) -> List[metadata_store_pb2.Artifact]:
        unique = {a.id: a for a in artifacts if a.state == metadata_store_pb2.Artifact.LIVE
                  and (type_name is None or self.type_name(a) == type_name)}
        return [unique[i] for i in sorted(unique, reverse=True)]

    def made_by(self, artifact: metadata_store_pb2.Artifact, component: str) -> bool:
        """Whether a component (by class name, e.g. "StatisticsGen") produced the artifact."""
        producer = self.producer(artifact)
        return producer is not None and self.execution_type(producer).endswith(component)

    def outputs_of_consumers(self, artifact: metadata_store_pb2.Artifact,
                             type_name: Optional[str] = None
                             ) -> List[metadata_store_pb2.Artifact]:
        """Live artifacts (of `type_name`, if given) output by the executions that took
        `artifact` as an input, newest first: what was made from it."""
        found = [output for execution in self.consumers(artifact)
                 for outputs in self.outputs(execution).values() for output in outputs]
        return self._live_newest_first(found, type_name)

    def inputs_of_producer(self, artifact: metadata_store_pb2.Artifact,
                           type_name: Optional[str] = None
                           ) -> List[metadata_store_pb2.Artifact]:
        """Live artifacts (of `type_name`, if given) input to the execution that output
        `artifact`, newest first: what it was made from. Empty without a producer."""
        execution = self.producer(artifact)
        if execution is None:
            return []
        found = [item for inputs in self.inputs(execution).values() for item in inputs]
        return self._live_newest_first(found, type_name)

    def to_tfx(self, artifact: metadata_store_pb2.Artifact):
        """The tfx `Artifact` of an MLMD artifact (of its registered class, or of a class
        TFX makes up on the fly for types it cannot import)."""
        from tfx.types import artifact_utils  # heavy: only for callers that want tfx objects
        (kind,) = self.mlmd.get_artifact_types_by_id([artifact.type_id])
        return artifact_utils.deserialize_artifact(kind, artifact)


def value(item, key: str, default=None):
    """A property or custom property of an artifact or execution, as a Python value."""
    for properties in (item.properties, item.custom_properties):
        if key in properties:
            field = properties[key]
            kind = field.WhichOneof("value")
            if kind == "struct_value":
                return json_format.MessageToDict(field.struct_value)
            return getattr(field, kind)
    return default


def split_names(artifact) -> List[str]:
    return json.loads(value(artifact, "split_names", "[]"))
