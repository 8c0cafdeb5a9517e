"""`arith-tfx lineage`: from a pushed version back to the generator run that made its data."""
import datetime
from typing import List, NamedTuple, Optional, Tuple

from components.sample_generator import properties as samples_properties
from pipeline.paths import Paths
from pipeline.state import metadata
from pipeline.state.metadata import MetadataError, Store, value


class LineageError(MetadataError):
    """No pushed model matches, or its chain is broken."""


def _when(item) -> str:
    stamp = item.create_time_since_epoch / 1000
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def _single(found, what: str):
    if not found:
        raise LineageError(f"lineage broken: no {what} recorded")
    return found[0]


def _pushed_model(store: Store, version: Optional[str]):
    pushed = [a for a in store.artifacts("PushedModel") if value(a, "pushed") == 1]
    if version is not None:
        pushed = [a for a in pushed if str(value(a, "pushed_version")) == str(version)]
    if not pushed:
        known = sorted(str(value(a, "pushed_version")) for a in store.artifacts("PushedModel")
                       if value(a, "pushed") == 1)
        raise LineageError(f"no pushed model{' with version ' + str(version) if version else ''}"
                           f"; pushed versions: {', '.join(known) or 'none'}")
    return pushed[0]


def _samples_of(store: Store, examples, input_base: str):
    """The generator run whose span ExampleGen ingested. ImportExampleGen reads files, not
    artifacts, so no event links the two; both record the fingerprint of the span's files
    (count, bytes, modification times), which identifies the very files ExampleGen read. Older
    generator artifacts without it are matched by data root and span."""
    ingested = value(examples, "input_fingerprint")
    candidates = [samples for type_name in samples_properties.TYPE_NAMES
                  for samples in store.artifacts(type_name)]
    for samples in candidates:
        if ingested and value(samples, "input_fingerprint") == ingested:
            return samples
    span = value(examples, "span")
    for samples in candidates:
        if value(samples, "input_fingerprint"):
            continue
        data_dir = value(samples, "data_dir", "")
        if value(samples, "span") == span and data_dir.startswith(input_base.rstrip("/") + "/"):
            return samples
    return None


class TrainingData(NamedTuple):
    trainer: object
    graph: object
    schema: object
    examples: object
    samples: Optional[object]  # None when the span was not written by SampleGenerator here


def training_data(store: Store, model) -> TrainingData:
    """What the Trainer made `model` from, back to the generator run."""
    trainer = store.producer(model)
    trained_on = store.inputs(trainer)
    graph = _single(trained_on.get("transform_graph"), "Transform graph")
    schema = _single(trained_on.get("schema"), "schema")
    examples = _single(store.inputs(store.producer(graph)).get("examples"), "examples")
    example_gen = store.producer(examples)
    samples = _samples_of(store, examples, value(example_gen, "input_base", ""))
    return TrainingData(trainer, graph, schema, examples, samples)


def pushed_from(store: Store, pushed):
    """The Model a PushedModel artifact holds (a rollback records the same Model again)."""
    return _single(store.inputs(store.producer(pushed)).get("model"), "model for the push")


def chain(root: str, version: Optional[str] = None) -> List[Tuple[str, str]]:
    """(step, description) from the pushed model back to the samples' seed."""
    store = Store(Paths(root).metadata_path)
    pushed = _pushed_model(store, version)
    model = pushed_from(store, pushed)
    trainer, graph, schema, examples, samples = training_data(store, model)
    statistics = next((a for a in store.outputs_of_consumers(examples, "ExampleStatistics")
                       if store.made_by(a, "StatisticsGen")), None)

    steps = [
        ("pushed model", f"version {value(pushed, 'pushed_version')} at "
                         f"{value(pushed, 'pushed_destination')} ({_when(pushed)})"),
        ("model", f"{model.uri} (Trainer execution {trainer.id}, {_when(model)})"),
        ("transform graph", graph.uri),
        ("schema", schema.uri),
        ("statistics", statistics.uri if statistics else "not recorded"),
        ("examples", f"{examples.uri}: span {value(examples, 'span')}, splits "
                     f"{', '.join(metadata.split_names(examples))}"),
    ]
    if samples is None:
        steps.append(("samples", f"span {value(examples, 'span')} was not written by "
                                 "SampleGenerator in this store"))
    else:
        steps.append(("samples", (
            f"span {value(samples, 'span')} at {value(samples, 'data_dir')}: seed "
            f"{value(samples, 'seed')}, {value(samples, 'num_samples')} samples in "
            f"{value(samples, 'num_shards')} shards, max_val {value(samples, 'max_val')}, "
            f"ops {value(samples, 'ops')}")))
    return steps


def main(root: str, version: Optional[str]) -> int:
    steps = chain(root, version)
    width = max(len(step) for step, _ in steps)
    for step, description in steps:
        print(f"{step:>{width}}  {description}")
    return 0
