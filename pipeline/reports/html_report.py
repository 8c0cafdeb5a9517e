"""A self-contained HTML report of an inspection: tables and inline SVG bar charts.

No scripts, fonts, stylesheets or images are fetched: the page is one file that renders
offline (TFDV's Facets view loads its code from the internet and is blank without it).
Sections have stable ids: statistics, length-distributions, value-distributions, schema,
anomalies, model-quality (exact match heat maps per operation by the operands' digit counts).
"""
from __future__ import annotations

import html
from typing import Iterable, List, Sequence, Tuple

from pipeline.reports.inspection_text import (
    created, describe_artifact, schema_domain, schema_environments, schema_presence, schema_type,
    schema_value_count, top_values, value_range)

SECTION_IDS = ("statistics", "length-distributions", "value-distributions", "schema",
               "anomalies", "model-quality")

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 72em; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin-bottom: .3em; }
table { border-collapse: collapse; margin: .3em 0 1em; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; }
code { font: 12px monospace; background: #f6f6f6; padding: 0 2px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; border: 1px solid #eee; padding: 4px; }
figcaption { font-size: 12px; color: #555; }
svg text { font: 10px monospace; fill: #333; }
svg rect.bar { fill: #4a79a8; }
.ok { color: #2a7d2a; } .bad { color: #b22; }
table.heatmap td { width: 4.2em; text-align: center; }
"""

# Bar chart geometry (pixels).
BAR, GAP, PLOT_HEIGHT, TOP, BOTTOM, SIDE = 18, 4, 90, 14, 18, 6


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def bar_chart(title: str, bars: Sequence[Tuple[str, float]]) -> str:
    """An inline SVG bar chart: one bar per (label, value), the value above each bar."""
    if not bars:
        return f'<p class="empty">{esc(title)}: no data</p>'
    highest = max(value for _, value in bars) or 1.0
    width = SIDE * 2 + max(3, len(bars)) * (BAR + GAP)
    height = TOP + PLOT_HEIGHT + BOTTOM
    parts = [f'<svg class="bar-chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
             f"<title>{esc(title)}</title>",
             f'<line x1="{SIDE}" y1="{TOP + PLOT_HEIGHT}" x2="{width - SIDE}" '
             f'y2="{TOP + PLOT_HEIGHT}" stroke="#999"/>']
    for i, (label, value) in enumerate(bars):
        x = SIDE + i * (BAR + GAP) + GAP / 2
        h = PLOT_HEIGHT * value / highest
        y = TOP + PLOT_HEIGHT - h
        shown = str(round(value))  # estimated counts are fractional; show whole ones
        parts += [f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{BAR}" height="{h:.1f}">'
                  f"<title>{esc(label)}: {esc(shown)}</title></rect>",
                  f'<text x="{x + BAR / 2:.1f}" y="{y - 2:.1f}" text-anchor="middle">'
                  f"{esc(shown)}</text>",
                  f'<text x="{x + BAR / 2:.1f}" y="{TOP + PLOT_HEIGHT + 12}" '
                  f'text-anchor="middle">{esc(label)}</text>']
    parts.append("</svg>")
    return "".join(parts)


def figure(caption: str, bars: Sequence[Tuple[str, float]]) -> str:
    return f"<figure>{bar_chart(caption, bars)}<figcaption>{esc(caption)}</figcaption></figure>"


def table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric=()) -> str:
    """A table of already escaped cells; `numeric` column indexes are right aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def artifacts_table(inspection) -> str:
    a = inspection.artifacts
    rows = []
    for role, artifact in (("statistics", a.statistics), ("schema", a.schema),
                           ("anomalies", a.anomalies), ("examples", a.examples)):
        if artifact is None:
            rows.append([esc(role), "none yet", "", ""])
        else:
            rows.append([esc(role), esc(f"{artifact.type_name} #{artifact.id}"),
                         esc(created(artifact)), f"<code>{esc(artifact.uri)}</code>"])
    span = a.span if a.span is not None else "unknown"
    return (f"<p>Span <b>{esc(span)}</b>, splits {esc(', '.join(inspection.splits))}.</p>"
            + table(["role", "artifact", "created", "uri"], rows))


def statistics_section(inspection) -> List[str]:
    out = ['<section id="statistics"><h2>Statistics</h2>', artifacts_table(inspection)]
    names = inspection.feature_names()
    for split in inspection.splits:
        digests = inspection.digests(split)
        examples = next(iter(digests.values())).examples if digests else 0
        rows = []
        for name in names:
            d = digests.get(name)
            if d is None:
                rows.append([esc(name), "-", "0", esc(examples), "absent from statistics", ""])
            else:
                rows.append([esc(name), esc(d.kind), esc(d.present), esc(d.missing),
                             esc(value_range(d)), esc(top_values(d))])
        out += [f"<h3>{esc(split)}: {esc(examples)} examples</h3>",
                table(["feature", "kind", "present", "missing", "range", "top values"], rows,
                      numeric=(2, 3))]
    out.append("</section>")
    return out


def length_section(inspection) -> List[str]:
    out = ['<section id="length-distributions"><h2>Length distributions</h2>',
           "<p>Examples per length of each text feature (one character per value, so the "
           "length is num_values), estimated from TFDV's num_values quantiles.</p>"]
    for split in inspection.splits:
        digests = inspection.digests(split)
        text = [d for d in (digests.get(n) for n in inspection.feature_names())
                if d is not None and d.kind == "text"]
        out.append(f"<h3>{esc(split)}</h3><div class=\"charts\">")
        out += [figure(f"{split} / {d.name}: examples by length "
                       f"({d.min_values}..{d.max_values})", d.length_histogram) for d in text]
        out.append("</div>")
    out.append("</section>")
    return out


def value_section(inspection) -> List[str]:
    out = ['<section id="value-distributions"><h2>Value distributions</h2>',
           "<p>Text features: occurrences of each character (top values). "
           "Int features: examples per value.</p>"]
    for split in inspection.splits:
        digests = inspection.digests(split)
        out.append(f"<h3>{esc(split)}</h3><div class=\"charts\">")
        for name in inspection.feature_names():
            d = digests.get(name)
            if d is None:
                continue
            if d.kind == "text":
                bars = [(v, c) for v, c in d.top_values]
                out.append(figure(f"{split} / {name}: top values", bars))
            elif d.value_histogram:
                out.append(figure(f"{split} / {name}: values", d.value_histogram))
        out.append("</div>")
    out.append("</section>")
    return out


def schema_section(inspection) -> List[str]:
    out = ['<section id="schema"><h2>Schema</h2>']
    schema = inspection.schema
    if schema is None:
        out.append("<p>No schema artifact yet.</p>")
    else:
        out.append("<p>Default environments: "
                   f"{esc(', '.join(schema.default_environment) or 'none')}.</p>")
        rows = [[esc(f.name), esc(schema_type(f)), esc(schema_presence(f)),
                 esc(schema_value_count(f)), esc(schema_environments(schema, f)),
                 f"<code>{esc(schema_domain(schema, f))}</code>"]
                for f in schema.feature]
        out.append(table(["feature", "type", "presence", "value_count", "environments",
                          "domain"], rows))
    out.append("</section>")
    return out


def anomaly_rows(per_split) -> List[List[str]]:
    """(split, feature, severity, anomaly, details) per anomaly, in describe()'s order."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2
    rows = []
    for split, anomalies in sorted(per_split.items()):
        for feature, info in sorted(anomalies.anomaly_info.items()):
            severity = anomalies_pb2.AnomalyInfo.Severity.Name(info.severity)
            details = "; ".join(r.description or r.short_description for r in info.reason)
            rows.append([split, feature, severity, info.short_description, details])
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            severity = anomalies_pb2.AnomalyInfo.Severity.Name(info.severity)
            rows.append([split, "(dataset)", severity, info.short_description,
                         info.description])
    return rows


def anomalies_section(inspection) -> List[str]:
    out = ['<section id="anomalies"><h2>Anomalies</h2>']
    if inspection.anomalies is None:
        out.append("<p>Not validated yet: ExampleValidator has not run on these "
                   "statistics.</p>")
    else:
        rows = anomaly_rows(inspection.anomalies)
        if rows:
            out.append(f'<p class="bad">{len(rows)} anomalies.</p>')
            out.append(table(["split", "feature", "severity", "anomaly", "details"],
                             [[esc(c) for c in row] for row in rows]))
        else:
            out.append('<p class="ok">No anomalies.</p>')
    out.append("</section>")
    return out


def heat(share: float) -> str:
    """Cell colour: red at 0%, yellow at 50%, green at 100%."""
    return f"hsl({120 * max(0.0, min(1.0, share)):.0f}, 70%, 78%)"


def heat_map(operation: str, cells) -> str:
    """One operation's exact match as a table: x's digit count down, y's across."""
    xs = sorted({x for x, _ in cells})
    ys = sorted({y for _, y in cells})
    rows = []
    for x in xs:
        row = [f"<th>x: {x}</th>"]
        for y in ys:
            if (x, y) not in cells:
                row.append('<td class="empty">-</td>')
                continue
            share, count = cells[(x, y)]
            row.append(f'<td style="background: {heat(share)}" title="x {x} digits, y {y} '
                       f'digits: {share:.1%} of {count} examples">{share:.1%}</td>')
        rows.append("<tr>" + "".join(row) + "</tr>")
    head = "<th>digits</th>" + "".join(f"<th>y: {y}</th>" for y in ys)
    return (f'<figure><table class="heatmap" data-operation="{esc(operation)}">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<figcaption>x {esc(operation)} y and y {esc(operation)} x</figcaption></figure>")


def quality_section(inspection) -> List[str]:
    out = ['<section id="model-quality"><h2>Model quality</h2>']
    if not inspection.quality:
        out.append("<p>No model has been evaluated yet.</p></section>")
        return out
    out.append(f"<p>Exact match of the whole result on the held-out split, by the digit counts "
               f"of the operands: {esc(describe_artifact(inspection.artifacts.evaluation))}"
               f".</p>")
    out.append('<div class="charts">')
    out += [heat_map(operation, cells) for operation, cells in inspection.quality.items()]
    out.append("</div></section>")
    return out


def render(inspection) -> str:
    """The whole report of an `inspection.Inspection` as one self-contained HTML page."""
    title = f"arith-tfx inspect: {inspection.root}"
    body = (statistics_section(inspection) + length_section(inspection)
            + value_section(inspection) + schema_section(inspection)
            + anomalies_section(inspection) + quality_section(inspection))
    return "\n".join(
        ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
         f"<title>{esc(title)}</title>", f"<style>{STYLE}</style></head><body>",
         f"<h1>{esc(title)}</h1>"] + body + ["</body></html>", ""])
