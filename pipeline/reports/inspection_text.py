"""An inspection's facts in words: artifacts, feature digests and schema features, as both the
terminal summary (inspection.py) and the HTML report (html_report.py) show them."""
import datetime
from typing import Optional

from pipeline.reports.statistics_digest import FeatureDigest


def created(artifact) -> str:
    millis = artifact.mlmd_artifact.create_time_since_epoch
    when = datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def describe_artifact(artifact) -> str:
    return f"{artifact.type_name} #{artifact.id}, created {created(artifact)}: {artifact.uri}"


def fmt_number(value: float) -> str:
    """Counts and bounds: integers as integers, the rest with 3 significant digits."""
    if value is None:
        return "-"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}"


def show_value(value: str) -> str:
    """A text feature's value (one character) quoted, so spaces and commas stay visible."""
    return repr(value)


def value_range(d: FeatureDigest) -> str:
    """Length range of text features, value range of numeric ones."""
    if d.kind == "text":
        return f"length {d.min_values}..{d.max_values} (avg {d.avg_values:.2f})"
    if d.value_min is not None:
        text = f"values {fmt_number(d.value_min)}..{fmt_number(d.value_max)} " \
               f"(mean {d.value_mean:.3g})"
        if (d.min_values, d.max_values) != (1, 1):
            text += f", {d.min_values}..{d.max_values} values per example"
        return text
    return f"{d.min_values}..{d.max_values} values per example"


def top_values(d: FeatureDigest, limit: Optional[int] = None) -> str:
    """`'=' 644, 'y' 322, ...` for text; `0: 112, 1: 101, ...` for small-range ints."""
    if d.kind == "text":
        shown = d.top_values[:limit] if limit else d.top_values
        text = ", ".join(f"{show_value(v)} {fmt_number(c)}" for v, c in shown)
        more = len(d.top_values) - len(shown)
        return text + (f", ... ({more} more)" if more > 0 else "")
    if d.value_histogram:
        bars = [(label, count) for label, count in d.value_histogram if round(count) > 0]
        return ", ".join(f"{label}: {round(count)}" for label, count in bars)
    return ""


def schema_domain(schema, feature) -> str:
    """The feature's allowed values: a string domain's characters or an int range."""
    which = feature.WhichOneof("domain_info")
    if which == "domain":
        named = [d for d in schema.string_domain if d.name == feature.domain]
        if named:
            return f"{feature.domain}: " + " ".join(show_value(v) for v in named[0].value)
        return f"{feature.domain} (undefined)"
    if which == "string_domain":
        return " ".join(show_value(v) for v in feature.string_domain.value)
    if which == "int_domain":
        d = feature.int_domain
        low = str(d.min) if d.HasField("min") else "-inf"
        high = str(d.max) if d.HasField("max") else "inf"
        return f"int_domain {low}..{high}"
    if which == "float_domain":
        d = feature.float_domain
        low = f"{d.min:g}" if d.HasField("min") else "-inf"
        high = f"{d.max:g}" if d.HasField("max") else "inf"
        return f"float_domain {low}..{high}"
    if which:
        return which
    return "any"


def schema_presence(feature) -> str:
    if not feature.HasField("presence"):
        return "any"
    p = feature.presence
    return f"min_fraction {p.min_fraction:g}, min_count {p.min_count}"


def schema_value_count(feature) -> str:
    if feature.HasField("value_count"):
        v = feature.value_count
        high = str(v.max) if v.HasField("max") else "inf"
        return f"{v.min}..{high}"
    if feature.HasField("value_counts"):
        return "; ".join(f"{v.min}..{v.max}" for v in feature.value_counts.value_count)
    if feature.HasField("shape"):
        return "shape [" + ", ".join(str(d.size) for d in feature.shape.dim) + "]"
    return "any"


def schema_environments(schema, feature) -> str:
    if feature.in_environment:
        return "only in " + ", ".join(feature.in_environment)
    if feature.not_in_environment:
        everywhere = [e for e in schema.default_environment
                      if e not in feature.not_in_environment]
        return "not in " + ", ".join(feature.not_in_environment) + (
            f" (in {', '.join(everywhere)})" if everywhere else "")
    return "all" + (f" ({', '.join(schema.default_environment)})"
                    if schema.default_environment else "")


def schema_type(feature) -> str:
    from tensorflow_metadata.proto.v0 import schema_pb2
    return schema_pb2.FeatureType.Name(feature.type)
