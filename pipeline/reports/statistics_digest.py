"""Per-feature digests of TFDV statistics: what one split's DatasetFeatureStatistics say
about each feature, ready to print (`inspection.py`) or plot (`html_report.py`).

Histograms of integer data (value histograms of int features, num_values histograms, i.e.
text lengths) are turned back into exact per-integer counts where the buckets allow it.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, Optional, Tuple


@dataclasses.dataclass(frozen=True)
class FeatureDigest:
    """What one split's statistics say about one feature, ready to print or plot."""
    name: str
    kind: str  # "text" (bytes, one character per value), "int", "float" or "other"
    examples: int
    present: int
    missing: int
    min_values: int  # num_values per example; for text features that is the length
    max_values: int
    avg_values: float
    value_min: Optional[float] = None  # numeric features
    value_max: Optional[float] = None
    value_mean: Optional[float] = None
    unique: Optional[int] = None  # text features
    # (value, count) most frequent first; counts are of values (characters), not examples.
    top_values: Tuple[Tuple[str, float], ...] = ()
    # (length label, examples), estimated from TFDV's num_values quantiles.
    length_histogram: Tuple[Tuple[str, float], ...] = ()
    # (value label, count) of a numeric feature's values.
    value_histogram: Tuple[Tuple[str, float], ...] = ()


def _kind(feature) -> str:
    from tensorflow_metadata.proto.v0 import statistics_pb2
    types = statistics_pb2.FeatureNameStatistics
    if feature.type in (types.STRING, types.BYTES):
        return "text"
    if feature.type == types.INT:
        return "int"
    if feature.type == types.FLOAT:
        return "float"
    return "other"


def _common_stats(feature):
    which = feature.WhichOneof("stats")
    if which == "num_stats":
        return feature.num_stats.common_stats
    if which == "string_stats":
        return feature.string_stats.common_stats
    if which == "bytes_stats":
        return feature.bytes_stats.common_stats
    if which == "struct_stats":
        return feature.struct_stats.common_stats
    return None


def _integer_counts(buckets, lowest: float, highest: float) -> Optional[Dict[int, float]]:
    """{integer: count} from histogram buckets of integer data, or None if the buckets are
    too coarse. A bucket [low, high] gives its count to the integers it contains, split
    evenly; buckets holding no integer are interpolation residue and dropped."""
    if not buckets or highest - lowest > 60:
        return None
    counts: Dict[int, float] = {v: 0.0 for v in range(int(math.floor(lowest)),
                                                        int(math.ceil(highest)) + 1)}
    for bucket in buckets:
        inside = [v for v in counts if bucket.low_value - 1e-9 <= v <= bucket.high_value + 1e-9]
        for v in inside:
            counts[v] += bucket.sample_count / len(inside)
    return counts


def _length_histogram(common) -> Tuple[Tuple[str, float], ...]:
    if common is None or common.max_num_values == 0 and common.min_num_values == 0:
        return ()
    counts = _integer_counts(common.num_values_histogram.buckets,
                             common.min_num_values, common.max_num_values)
    if counts is None:
        return tuple((f"{b.low_value:g}-{b.high_value:g}", b.sample_count)
                     for b in common.num_values_histogram.buckets)
    return tuple((str(v), c) for v, c in sorted(counts.items()))


def _value_histogram(feature) -> Tuple[Tuple[str, float], ...]:
    from tensorflow_metadata.proto.v0 import statistics_pb2
    standard = [h for h in feature.num_stats.histograms
                if h.type == statistics_pb2.Histogram.STANDARD]
    if not standard:
        return ()
    buckets = standard[0].buckets
    if _kind(feature) == "int":
        counts = _integer_counts(buckets, feature.num_stats.min, feature.num_stats.max)
        if counts is not None:
            return tuple((str(v), c) for v, c in sorted(counts.items()))
    return tuple((f"{b.low_value:g}-{b.high_value:g}", b.sample_count) for b in buckets)


def digest(dataset) -> Dict[str, FeatureDigest]:
    """{feature: FeatureDigest} of one split's DatasetFeatureStatistics."""
    result = {}
    for feature in dataset.features:
        name = ".".join(feature.path.step) or feature.name
        common = _common_stats(feature)
        kind = _kind(feature)
        present = int(common.num_non_missing) if common is not None else 0
        fields = dict(
            name=name, kind=kind, examples=int(dataset.num_examples), present=present,
            missing=int(dataset.num_examples) - present,
            min_values=int(common.min_num_values) if common is not None else 0,
            max_values=int(common.max_num_values) if common is not None else 0,
            avg_values=float(common.avg_num_values) if common is not None else 0.0,
            length_histogram=_length_histogram(common))
        if feature.HasField("num_stats"):
            fields.update(value_min=feature.num_stats.min, value_max=feature.num_stats.max,
                          value_mean=feature.num_stats.mean,
                          value_histogram=_value_histogram(feature))
        if feature.HasField("string_stats"):
            stats = feature.string_stats
            fields.update(unique=int(stats.unique), top_values=tuple(
                (v.value, v.frequency) for v in stats.top_values))
        result[name] = FeatureDigest(**fields)
    return result
