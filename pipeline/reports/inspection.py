"""`arith-tfx inspect`: what the newest run's statistics, schema and anomalies say.

Everything is read from ML Metadata (the newest ExampleStatistics and the Schema and
ExampleAnomalies of the ExampleValidator run on them) and from the artifact files, so the
summary shows exactly what gated the run. Layers, each usable on its own:

  latest_artifacts(metadata_path) -> Artifacts      which artifacts (tfx Artifacts)
  load(root) -> Inspection                           their contents (protos) + digests
  format_summary(inspection) -> str                  the terminal text
  html_report.render(inspection) -> str              the self-contained HTML report
  summary(root) / main(root, html)                   the CLI entry points

ML Metadata is read through `pipeline.state.metadata.Store`; the per-feature digests of the
statistics come from `pipeline.reports.statistics_digest`.
"""
from __future__ import annotations

import dataclasses
import os
import sys
from typing import Dict, List, Optional, Tuple

from pipeline.paths import Paths
from pipeline.reports.inspection_text import (
    describe_artifact, schema_domain, schema_environments, schema_presence, schema_type,
    schema_value_count, top_values, value_range)
from pipeline.reports.statistics_digest import FeatureDigest, digest

STATISTICS_TYPE = "ExampleStatistics"
SCHEMA_TYPE = "Schema"
ANOMALIES_TYPE = "ExampleAnomalies"
EXAMPLES_TYPE = "Examples"
EVALUATION_TYPE = "ModelEvaluation"
STATS_FILE = "FeatureStats.pb"
SCHEMA_FILE = "schema.pbtxt"

# Exit codes of main().
EXIT_CLEAN = 0
EXIT_ANOMALIES = 1
EXIT_NOTHING_TO_INSPECT = 2

# How many top values the terminal summary lists per feature (the HTML plots them all).
SUMMARY_TOP_VALUES = 10


class InspectionError(RuntimeError):
    """There is nothing to inspect under the root; the message says what to do."""


def no_statistics_error(root: str, detail: str) -> InspectionError:
    return InspectionError(f"no statistics in {root}: run `arith-tfx run` first ({detail})")


# ---------------------------------------------------------------- artifacts from MLMD


@dataclasses.dataclass(frozen=True)
class Artifacts:
    """The newest statistics and what validated them, as tfx Artifacts."""
    statistics: object
    schema: Optional[object]
    anomalies: Optional[object]
    # The Examples the statistics were computed on: they carry the span.
    examples: Optional[object]
    # The newest Evaluator output (None before any model was evaluated).
    evaluation: Optional[object] = None

    @property
    def span(self) -> Optional[int]:
        for artifact in (self.examples, self.statistics):
            if artifact is not None and artifact.has_custom_property("span"):
                return int(artifact.get_int_custom_property("span"))
        if self.examples is not None:
            return int(self.examples.span)
        return None


def _open_store(metadata_path: str, root: str):
    """The read-only `metadata.Store`, or the InspectionError that names `root`."""
    from pipeline.state.metadata import MetadataError, Store
    try:
        return Store(metadata_path)
    except MetadataError as error:  # no store file: nothing has run under this root
        raise no_statistics_error(root, f"no metadata store at {metadata_path}") from error
    except Exception as error:  # a corrupt or foreign file: say which one
        raise no_statistics_error(
            root, f"cannot open the metadata store {metadata_path}: {error}") from error


def _first(artifacts: List) -> Optional[object]:
    return artifacts[0] if artifacts else None


def latest_artifacts(metadata_path: str, root: Optional[str] = None) -> Artifacts:
    """The newest LIVE ExampleStatistics and, through lineage, the ExampleAnomalies that
    ExampleValidator made from them, the Schema it used and the Examples they describe.

    Without a validator run on these statistics, `anomalies` is None and `schema` is the
    newest Schema (if any). Raises InspectionError naming the root when the store or the
    statistics do not exist yet.
    """
    root = root if root is not None else os.path.dirname(os.path.abspath(metadata_path))
    store = _open_store(metadata_path, root)
    # Transform can write ExampleStatistics too; the data contract is StatisticsGen's.
    statistics = _first([a for a in store.artifacts(STATISTICS_TYPE)
                         if store.made_by(a, "StatisticsGen")])
    if statistics is None:
        raise no_statistics_error(root, f"no {STATISTICS_TYPE} artifact in {metadata_path}")
    # Executions that consumed these statistics and produced anomalies: ExampleValidator.
    anomalies = _first(store.outputs_of_consumers(statistics, ANOMALIES_TYPE))
    schema = None
    if anomalies is not None:
        schema = _first(store.inputs_of_producer(anomalies, SCHEMA_TYPE))
    if schema is None:
        schema = _first(store.artifacts(SCHEMA_TYPE))
    examples = _first(store.inputs_of_producer(statistics, EXAMPLES_TYPE))

    def to_tfx(artifact):
        return store.to_tfx(artifact) if artifact is not None else None

    return Artifacts(statistics=to_tfx(statistics), schema=to_tfx(schema),
                     anomalies=to_tfx(anomalies), examples=to_tfx(examples),
                     evaluation=to_tfx(_first(store.artifacts(EVALUATION_TYPE))))


# ---------------------------------------------------------------- everything, loaded


@dataclasses.dataclass(frozen=True)
class Inspection:
    """The newest run's data contract, loaded: protos per split plus per-feature digests."""
    root: str
    artifacts: Artifacts
    statistics: Dict[str, object]  # split -> DatasetFeatureStatisticsList
    schema: Optional[object]  # tensorflow_metadata Schema
    # split -> Anomalies; None when no ExampleValidator has run on these statistics.
    anomalies: Optional[Dict[str, object]]
    # The newest evaluation's exact match per operation and (x digits, y digits):
    # (share, examples) per cell, as quality.by_operands reads it; {} before any.
    quality: Dict[str, Dict[Tuple[int, int], Tuple[float, int]]] = dataclasses.field(
        default_factory=dict)

    @property
    def splits(self) -> List[str]:
        return list(self.statistics)

    def digests(self, split: str) -> Dict[str, FeatureDigest]:
        lists = self.statistics[split]
        return digest(lists.datasets[0]) if lists.datasets else {}

    def feature_names(self) -> List[str]:
        """Schema order first, then any feature only the statistics know, sorted."""
        names = [f.name for f in self.schema.feature] if self.schema is not None else []
        extra = {n for split in self.statistics for n in self.digests(split)} - set(names)
        return names + sorted(extra)

    def anomaly_lines(self) -> List[str]:
        from components.data_gate import anomalies as anomaly_reader
        return anomaly_reader.describe(self.anomalies or {})

    @property
    def has_anomalies(self) -> bool:
        return bool(self.anomaly_lines())


def load(root: str) -> Inspection:
    """Reads the newest statistics, their schema and anomalies under `root`."""
    import tensorflow as tf
    import tensorflow_data_validation as tfdv
    from tfx.types import artifact_utils
    from components.data_gate import anomalies as anomaly_reader

    artifacts = latest_artifacts(Paths(root).metadata_path, root)
    statistics = {}
    for split in artifact_utils.decode_split_names(artifacts.statistics.split_names):
        path = os.path.join(artifacts.statistics.uri, f"Split-{split}", STATS_FILE)
        if not tf.io.gfile.exists(path):
            raise InspectionError(f"statistics artifact {artifacts.statistics.id} in {root} "
                                  f"lists split {split!r} but {path} is missing")
        statistics[split] = tfdv.load_stats_binary(path)
    schema = None
    if artifacts.schema is not None:
        schema = tfdv.load_schema_text(os.path.join(artifacts.schema.uri, SCHEMA_FILE))
    anomalies = anomaly_reader.read(artifacts.anomalies) if artifacts.anomalies else None
    cells = {}
    if artifacts.evaluation is not None:
        from pipeline.reports import quality
        cells = quality.by_operands(artifacts.evaluation.uri)
    return Inspection(root=root, artifacts=artifacts, statistics=statistics, schema=schema,
                      anomalies=anomalies, quality=cells)


# ---------------------------------------------------------------- the terminal summary


def _table(rows: List[List[str]], indent: str = "    ") -> List[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
            for row in rows]


def format_summary(inspection: Inspection) -> str:
    """The terminal summary of one Inspection."""
    a = inspection.artifacts
    lines = [f"arith-tfx inspect: {inspection.root}",
             f"  span        {a.span if a.span is not None else 'unknown'}",
             f"  statistics  {describe_artifact(a.statistics)}",
             "  schema      " + (describe_artifact(a.schema) if a.schema else "none yet"),
             "  anomalies   " + (describe_artifact(a.anomalies) if a.anomalies else
                                 "none yet: ExampleValidator has not run on these statistics"),
             "", "Statistics"]
    names = inspection.feature_names()
    for split in inspection.splits:
        digests = inspection.digests(split)
        examples = next(iter(digests.values())).examples if digests else 0
        lines.append(f"  {split}: {examples} examples")
        rows = [["feature", "kind", "present", "missing", "range", "top values"]]
        for name in names:
            d = digests.get(name)
            if d is None:
                rows.append([name, "-", "0", str(examples), "absent from statistics", ""])
                continue
            rows.append([name, d.kind, str(d.present), str(d.missing), value_range(d),
                         top_values(d, SUMMARY_TOP_VALUES)])
        lines += _table(rows)
    lines += ["", "Schema"]
    schema = inspection.schema
    if schema is None:
        lines.append("  no schema artifact yet")
    else:
        lines.append("  default environments: " + (", ".join(schema.default_environment)
                                                     or "none"))
        rows = [["feature", "type", "presence", "value_count", "environments", "domain"]]
        for f in schema.feature:
            rows.append([f.name, schema_type(f), schema_presence(f), schema_value_count(f),
                         schema_environments(schema, f), schema_domain(schema, f)])
        lines += _table(rows)
    lines += ["", "Anomalies"]
    if inspection.anomalies is None:
        lines.append("  not validated yet")
    else:
        lines += ["  " + line for line in inspection.anomaly_lines()] or ["  no anomalies"]
    lines += ["", "Model quality"]
    if not inspection.quality:
        lines.append("  no model evaluated yet")
    else:
        from pipeline.reports import quality
        lines.append(f"  exact match by digits of the longer operand, "
                     f"{describe_artifact(a.evaluation)}")
        lines += ["  " + line for line in quality.digit_table(
            {"": quality.longer_operand(inspection.quality)})]
    return "\n".join(lines) + "\n"


def summary(root: str) -> str:
    """The terminal summary of the newest statistics, schema and anomalies under `root`."""
    return format_summary(load(root))


def main(root: str, html: Optional[str] = None) -> int:
    """Prints the summary of `root` and writes the HTML report to `html` if given.

    Returns 0 for clean data, 1 when the data has anomalies (the summary and report are
    still produced) and 2 when there is nothing to inspect (the reason goes to stderr).
    """
    try:
        inspection = load(root)
    except InspectionError as error:
        print(f"arith-tfx inspect: {error}", file=sys.stderr)
        return EXIT_NOTHING_TO_INSPECT
    sys.stdout.write(format_summary(inspection))
    if html:
        from pipeline.reports import html_report
        folder = os.path.dirname(os.path.abspath(html))
        os.makedirs(folder, exist_ok=True)
        with open(html, "w", encoding="utf-8") as out:
            out.write(html_report.render(inspection))
        print(f"\nHTML report: {os.path.abspath(html)}")
    return EXIT_ANOMALIES if inspection.has_anomalies else EXIT_CLEAN
