"""`arith-tfx versions` and `arith-tfx rollback`: the versions in the serving directory, what
each was trained on and how good it was; retention; serving an earlier version again.

TF Serving serves the highest version, so a rollback publishes the chosen version again, whole,
as a new highest version, and records that in ML Metadata as a PushedModel of the same Model
(so the next run warm-starts from, and compares against, the model users are served).
"""
import datetime
import os
from typing import Dict, List, NamedTuple, Optional

from components.atomic_pusher import serving_dir as serving_layout
from components.atomic_pusher.properties import PUSHED, PUSHED_MODEL_ID
from pipeline.paths import Paths
from pipeline.reports import lineage, quality
from pipeline.state.metadata import MetadataError, Store, value

ROLLBACK_EXECUTION = "arith_tfx.Rollback"
REPUBLISHED_VERSION = "republished_version"  # on a rollback's PushedModel: the version it copies


class VersionError(RuntimeError):
    """No such version, or nothing to roll back to."""


class Version(NamedTuple):
    number: int
    pushed_at: str
    exact_match: Dict[str, float]
    by_digits: Dict[str, Dict[int, float]]  # per operation and digits of the longer operand
    span: Optional[int]
    seed: Optional[int]
    republished: Optional[int]  # the version a rollback copied


def _pushes(store: Optional[Store]) -> Dict[int, object]:
    if store is None:
        return {}
    found = {}
    for push in store.artifacts("PushedModel"):  # newest first: a re-used number keeps its last
        version = value(push, "pushed_version")
        if value(push, PUSHED) == 1 and str(version).isdigit():
            found.setdefault(int(version), push)
    return found


def _open_store(paths: Paths) -> Optional[Store]:
    try:
        return Store(paths.metadata_path)
    except MetadataError:
        return None


def _describe(store: Store, number: int, push) -> Version:
    when = datetime.datetime.fromtimestamp(push.create_time_since_epoch / 1000)
    republished = value(push, REPUBLISHED_VERSION)
    execution = store.producer(push)
    original = store.inputs(execution).get("pushed_model")
    while original:  # a rollback (of a rollback ...): quality is that of the first push
        execution = store.producer(original[0])
        original = store.inputs(execution).get("pushed_model")
    shares, by_digits = {}, {}
    for blessing in store.inputs(execution).get("model_blessing", []):
        evaluation = store.outputs(store.producer(blessing)).get("evaluation", [])
        if evaluation:
            shares = quality.exact_match(evaluation[0].uri)
            by_digits = quality.by_digits(evaluation[0].uri)
    data = lineage.training_data(store, lineage.pushed_from(store, push))
    return Version(number, when.strftime("%Y-%m-%d %H:%M:%S"), shares, by_digits,
                   value(data.examples, "span"),
                   value(data.samples, "seed") if data.samples is not None else None,
                   int(republished) if republished is not None else None)


def listing(root: str) -> List[Version]:
    """Every version on disk, oldest first, with what the metadata store knows about it."""
    paths = Paths.at(root)
    store = _open_store(paths)
    pushes = _pushes(store)
    found = []
    for number in serving_layout.versions(paths.serving_dir):
        if number in pushes:
            found.append(_describe(store, number, pushes[number]))
        else:
            stamp = os.path.getmtime(os.path.join(paths.serving_dir, str(number)))
            found.append(Version(number, datetime.datetime.fromtimestamp(stamp).strftime(
                "%Y-%m-%d %H:%M:%S"), {}, {}, None, None, None))
    return found


def show(root: str, keep: Optional[int]) -> int:
    paths = Paths.at(root)
    if keep is not None:
        removed = serving_layout.remove_oldest(paths.serving_dir, keep)
        print(f"removed version{'s' if len(removed) != 1 else ''} "
              f"{', '.join(map(str, removed))}" if removed else
              f"nothing to remove: at most {keep} versions")
    found = listing(root)
    if not found:
        print(f"no pushed version in {paths.serving_dir}")
        return 0
    print(f"{'version':>12}  {'pushed at':19}  {'exact match (all, + - *)':34}  {'span':>4}  "
          f"{'seed':>6}")
    for item in found:
        shares = quality.describe(item.exact_match) if item.exact_match else "not recorded"
        notes = []
        if item.republished is not None:
            notes.append(f"rollback to {item.republished}")
        if item is found[-1]:
            notes.append("served")
        print(f"{item.number:>12}  {item.pushed_at:19}  {shares:34}  "
              f"{item.span if item.span is not None else '?':>4}  "
              f"{item.seed if item.seed is not None else '?':>6}"
              f"{'  (' + ', '.join(notes) + ')' if notes else ''}")
    tables = {str(item.number): item.by_digits for item in found if item.by_digits}
    if tables:
        print("\nexact match by operation and digits of the longer operand (test split)")
        print("\n".join(quality.digit_table(tables)))
    return 0


def rollback(root: str, to: Optional[int]) -> int:
    """Publishes version `to` (default: the one before the served one) as the new highest
    version; returns the new version."""
    paths = Paths.at(root)
    available = serving_layout.versions(paths.serving_dir)
    if not available:
        raise VersionError(f"no pushed version in {paths.serving_dir}")
    if to is None:
        if len(available) < 2:
            raise VersionError(f"only version {available[0]} is in {paths.serving_dir}: "
                               "nothing earlier to roll back to")
        to = available[-2]
    if to not in available:
        raise VersionError(f"no version {to} in {paths.serving_dir}; available: "
                           f"{', '.join(map(str, available))}")
    if to == available[-1]:
        raise VersionError(f"version {to} is already the one served")
    record = _RollbackRecord.prepare(paths, to)  # before publishing: lineage must be whole
    new = serving_layout.publish(os.path.join(paths.serving_dir, str(to)), paths.serving_dir)
    if record is not None:
        try:
            record.write(new)
        except Exception as error:  # pylint: disable=broad-except
            serving_layout.withdraw(paths.serving_dir, new)
            raise VersionError(f"could not record the rollback in {paths.metadata_path} "
                               f"({type(error).__name__}: {error}); version {new} was withdrawn "
                               f"and version {available[-1]} is still served") from None
    print(f"arith-tfx rollback: version {to} is served again, as version {new}"
          + ("" if record else " (not recorded in the metadata store: version "
                               f"{to} was not pushed by a run on this root)"))
    return new


class _RollbackRecord:
    """A Rollback execution: in, the original PushedModel and its Model; out, a PushedModel for
    the new version, in the pipeline's context so that the pipeline's resolver sees it."""

    def __init__(self, paths: Paths, original_version: int, original_id: int, model_id: int):
        self.paths, self.original_version = paths, original_version
        self.original_id, self.model_id = original_id, model_id

    @classmethod
    def prepare(cls, paths: Paths, original_version: int) -> Optional["_RollbackRecord"]:
        """None when the version was not pushed by a run on this root."""
        if not os.path.exists(paths.metadata_path):
            return None
        store = Store(paths.metadata_path)
        original = _pushes(store).get(original_version)
        if original is None:
            return None
        return cls(paths, original_version, original.id, lineage.pushed_from(store, original).id)

    def write(self, new_version: int) -> None:
        from ml_metadata import metadata_store
        from ml_metadata.proto import metadata_store_pb2 as pb
        connection = pb.ConnectionConfig()
        connection.sqlite.filename_uri = self.paths.metadata_path
        connection.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE
        mlmd = metadata_store.MetadataStore(connection)
        # Read now, just before the write that stores them back unchanged.
        original, model = mlmd.get_artifacts_by_id([self.original_id, self.model_id])
        if original.id != self.original_id:
            original, model = model, original
        pipeline_context = [
            context for context in mlmd.get_contexts_by_artifact(original.id)
            if mlmd.get_context_types_by_id([context.type_id])[0].name == "pipeline"]
        execution = pb.Execution(
            type_id=mlmd.put_execution_type(pb.ExecutionType(name=ROLLBACK_EXECUTION)),
            last_known_state=pb.Execution.COMPLETE)
        destination = os.path.join(self.paths.serving_dir, str(new_version))
        pushed = pb.Artifact(type_id=original.type_id, uri=destination, state=pb.Artifact.LIVE)
        pushed.custom_properties[PUSHED].int_value = 1
        pushed.custom_properties["pushed_version"].string_value = str(new_version)
        pushed.custom_properties["pushed_destination"].string_value = destination
        pushed.custom_properties[PUSHED_MODEL_ID].int_value = value(original, PUSHED_MODEL_ID, 0)
        pushed.custom_properties[REPUBLISHED_VERSION].int_value = self.original_version

        def event(kind, key):
            return pb.Event(type=kind, path=pb.Event.Path(steps=[
                pb.Event.Path.Step(key=key), pb.Event.Path.Step(index=0)]))
        mlmd.put_execution(execution, [(original, event(pb.Event.INPUT, "pushed_model")),
                                       (model, event(pb.Event.INPUT, "model")),
                                       (pushed, event(pb.Event.OUTPUT, "pushed_model"))],
                           pipeline_context)
