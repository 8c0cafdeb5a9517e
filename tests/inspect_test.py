"""`arith-tfx inspect` on a real data run: summary text, HTML report (rendered in headless
Chromium), the anomaly path and the error without a store."""
import dataclasses
import glob
import os
import re
import subprocess
from collections import Counter

import pytest

from modules import features
from pipeline.commands import doctor
from pipeline.paths import Paths
from pipeline.reports import html_report, inspection, statistics_digest
from pipeline.state.metadata import Store
from schema import CURATED_SCHEMA

FEATURES = features.RAW_TEXT_KEYS + features.RAW_INT_KEYS
NO_STATISTICS = "no statistics in {root}: run `arith-tfx run` first"


def read_split_examples(paths: Paths):
    """{split: [tf.train.Example]} straight from ImportExampleGen's files (not statistics)."""
    import tensorflow as tf
    [examples_dir] = glob.glob(os.path.join(paths.pipeline_root, "ImportExampleGen",
                                            "examples", "*"))
    result = {}
    for split_dir in sorted(glob.glob(os.path.join(examples_dir, "Split-*"))):
        files = sorted(glob.glob(os.path.join(split_dir, "*.gz")))
        records = tf.data.TFRecordDataset(files, compression_type="GZIP")
        result[os.path.basename(split_dir)[len("Split-"):]] = [
            tf.train.Example.FromString(r.numpy()) for r in records]
    return examples_dir, result


def text_of(example, key):
    return b"".join(example.features.feature[key].bytes_list.value).decode()


def int_of(example, key):
    [value] = example.features.feature[key].int64_list.value
    return value


def section(text: str, title: str) -> list:
    """The lines of one top-level block of the summary (`Statistics`, `Schema`, ...)."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if lines[i] and not lines[i][0].isspace()),
               len(lines))
    while end > start and not lines[end - 1]:  # the blank line before the next block
        end -= 1
    return lines[start:end]


def row(lines: list, name: str) -> str:
    [found] = [line for line in lines if line.split()[:1] == [name]]
    return found


def split_block(stats_lines: list, split: str) -> list:
    start = next(i for i, line in enumerate(stats_lines) if line.startswith(f"  {split}: "))
    end = next((i for i in range(start + 1, len(stats_lines))
                if re.match(r"  \S", stats_lines[i])), len(stats_lines))
    return stats_lines[start:end]


@pytest.mark.e2e
def test_summary_matches_the_examples_and_the_schema(data_run):
    import tensorflow_data_validation as tfdv
    text = inspection.summary(data_run.root)
    examples_dir, per_split = read_split_examples(data_run)

    # Which artifacts: the statistics of this run's Examples, with their span.
    artifacts = inspection.latest_artifacts(data_run.metadata_path)
    assert artifacts.examples.uri == examples_dir
    assert artifacts.statistics.uri.startswith(os.path.join(data_run.pipeline_root,
                                                            "StatisticsGen"))
    assert f"  span        {artifacts.span}" in text and artifacts.span >= 1
    assert f"ExampleStatistics #{artifacts.statistics.id}" in text

    stats = section(text, "Statistics")
    assert set(per_split) == {"train", "eval", "test"}
    for split, examples in per_split.items():
        block = split_block(stats, split)
        assert block[0] == f"  {split}: {len(examples)} examples"
        for key in FEATURES:
            line = row(block, key)
            assert line.split()[2:4] == [str(len(examples)), "0"], line  # present, missing
        for key in features.RAW_TEXT_KEYS:
            lengths = [len(text_of(e, key)) for e in examples]
            line = row(block, key)
            assert f"length {min(lengths)}..{max(lengths)} " in line, line
            chars = Counter(ch for e in examples for ch in text_of(e, key))
            most = max(chars.values())
            for ch in [c for c, n in chars.items() if n == most]:
                assert f"{ch!r} {most}" in line, line
        for key in features.RAW_INT_KEYS:
            counts = Counter(int_of(e, key) for e in examples)
            line = row(block, key)
            assert f"values {min(counts)}..{max(counts)} " in line, line
            # Exact per-value counts, recovered from TFDV's histogram buckets.
            assert line.endswith(", ".join(f"{v}: {n}" for v, n in sorted(counts.items()))), line

    schema_lines = section(text, "Schema")
    curated = tfdv.load_schema_text(CURATED_SCHEMA)
    assert "  default environments: TRAINING, SERVING" in schema_lines
    for feature in curated.feature:
        line = row(schema_lines, feature.name)
        assert line.split()[1] == ("BYTES" if feature.name in features.RAW_TEXT_KEYS else "INT")
        assert (f"min_fraction {feature.presence.min_fraction:g}, "
                f"min_count {feature.presence.min_count}") in line
        assert f"  {feature.value_count.min}..{feature.value_count.max}  " in line, line
        if feature.HasField("int_domain"):
            assert f"int_domain {feature.int_domain.min}..{feature.int_domain.max}" in line
        else:
            [domain] = [d for d in curated.string_domain if d.name == feature.domain]
            assert line.endswith(f"{domain.name}: " + " ".join(map(repr, domain.value))), line
        envs = "not in SERVING (in TRAINING)" if feature.name == features.RES else "all ("
        assert envs in line, line

    assert section(text, "Anomalies") == ["  no anomalies"]


@pytest.mark.e2e
def test_latest_artifacts_are_those_the_example_validator_used(data_run):
    """The lineage latest_artifacts follows, checked against the executions themselves."""
    artifacts = inspection.latest_artifacts(data_run.metadata_path)
    assert [artifacts.statistics.type_name, artifacts.schema.type_name,
            artifacts.anomalies.type_name, artifacts.examples.type_name] == [
        inspection.STATISTICS_TYPE, inspection.SCHEMA_TYPE, inspection.ANOMALIES_TYPE,
        inspection.EXAMPLES_TYPE]
    store = Store(data_run.metadata_path)
    [anomalies] = store.mlmd.get_artifacts_by_id([artifacts.anomalies.id])
    validator = store.producer(anomalies)
    assert store.execution_type(validator).endswith("ExampleValidator")
    used = store.inputs(validator)
    assert [a.id for a in used["statistics"]] == [artifacts.statistics.id]
    assert [a.id for a in used["schema"]] == [artifacts.schema.id]
    [statistics] = store.mlmd.get_artifacts_by_id([artifacts.statistics.id])
    assert [a.id for a in store.inputs(store.producer(statistics))["examples"]] == [
        artifacts.examples.id]
    # The generic Store helpers inspection is built on, seen from the other end.
    assert [a.id for a in store.outputs_of_consumers(statistics, inspection.ANOMALIES_TYPE)
            ] == [artifacts.anomalies.id]
    assert store.outputs_of_consumers(statistics, "NoSuchType") == []
    assert artifacts.examples.id in [a.id for a in store.inputs_of_producer(statistics)]
    assert store.to_tfx(statistics).uri == artifacts.statistics.uri


def chromium_or_skip(search_path=None, environ=os.environ) -> str:
    """The browser that renders the report: the first of doctor.CHROMIUM_NAMES on PATH (or on
    `search_path`). Without one the render is skipped, or fails where the CI environment
    variable is set (GitHub Actions and GitLab CI set it to "true"; "", "0", "false" count as
    unset): `.ci/run` installs the browser, so there its absence is a broken machine."""
    chromium = doctor.find_chromium(search_path)
    if chromium:
        return chromium
    missing = (f"no Chromium on PATH (none of {', '.join(doctor.CHROMIUM_NAMES)}; fix: "
               f"{doctor.CHROMIUM_FIX}): the page was checked statically but not rendered")
    if environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        pytest.fail(f"{missing}; CI is set, where a missing browser is a failure")
    pytest.skip(missing)


@pytest.mark.parametrize("ci,outcome", [
    ("true", pytest.fail.Exception), ("1", pytest.fail.Exception),
    (None, pytest.skip.Exception), ("", pytest.skip.Exception), ("false", pytest.skip.Exception)])
def test_a_missing_chromium_skips_the_render_and_fails_it_under_ci(tmp_path, ci, outcome):
    environ = {} if ci is None else {"CI": ci}
    with pytest.raises(outcome) as raised:
        chromium_or_skip(str(tmp_path), environ)
    missing = ("no Chromium on PATH (none of chromium, chromium-browser, google-chrome; fix: "
               "apt-get install chromium (or put chromium-browser or google-chrome on PATH)): "
               "the page was checked statically but not rendered")
    assert str(raised.value) == (f"{missing}; CI is set, where a missing browser is a failure"
                                 if outcome is pytest.fail.Exception else missing)


def test_chromium_is_found_on_path_under_any_of_its_names(tmp_path):
    # Added least preferred first: each new one is preferred to those already there.
    for name in ("google-chrome", "chromium-browser", "chromium"):
        browser = tmp_path / name
        browser.write_text("#!/bin/sh\n")
        browser.chmod(0o755)
        assert chromium_or_skip(str(tmp_path), {"CI": "true"}) == str(browser)


def test_heat_maps_colour_each_cell_by_its_exact_match():
    cells = {(1, 1): (1.0, 40), (1, 2): (0.5, 10), (2, 1): (0.0, 12)}
    table = html_report.heat_map("*", cells)
    assert table.count("<tr>") == 3 and table.count("<td") == 4  # a header row, 2x2 cells
    assert 'style="background: hsl(120, 70%, 78%)" title="x 1 digits, y 1 digits: 100.0% of ' \
           '40 examples">100.0%</td>' in table
    assert "hsl(60, 70%, 78%)" in table and "hsl(0, 70%, 78%)" in table
    assert '<td class="empty">-</td>' in table  # (2, 2) was not evaluated
    assert "<figcaption>x * y and y * x</figcaption>" in table


@pytest.mark.e2e
def test_html_report_is_self_contained_and_renders_in_chromium(push_run, tmp_path, capsys):
    """On a root whose model was evaluated: the data sections and the model's heat maps."""
    from pipeline.reports import quality
    report = tmp_path / "report" / "inspect.html"
    assert inspection.main(push_run.root, str(report)) == inspection.EXIT_CLEAN
    out = capsys.readouterr().out
    assert "no anomalies" in out and str(report) in out
    assert "  exact match by digits of the longer operand, ModelEvaluation #" in out
    page = report.read_text(encoding="utf-8")

    # Nothing is fetched: no scripts, stylesheets, fonts or remote src/href at all.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<script|<link|<iframe|<img|@import|url\(", page, re.I)

    text_plots = len(features.RAW_TEXT_KEYS) * 3  # per split
    value_plots = len(FEATURES) * 3  # top characters or int values, per split
    chromium = chromium_or_skip()
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom",
         report.as_uri()],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    sections = {}
    for section_id in html_report.SECTION_IDS:
        match = re.search(rf'<section id="{section_id}">(.*?)</section>', dom, re.S)
        assert match, f"section #{section_id} missing from the rendered DOM"
        sections[section_id] = match.group(1)
    lengths, values = sections["length-distributions"], sections["value-distributions"]
    assert len(re.findall(r"<svg\b", lengths)) == text_plots
    assert len(re.findall(r"<svg\b", values)) == value_plots
    for key in features.RAW_TEXT_KEYS:
        assert f"train / {key}: examples by length" in lengths
        assert f"train / {key}: top values" in values
    for key in features.RAW_INT_KEYS:
        assert f"test / {key}: values" in values
    assert all("<rect" in svg for svg in re.findall(r"<svg\b.*?</svg>", dom, re.S))
    for key in FEATURES:
        assert f"<td>{key}</td>" in sections["statistics"]
        assert f"<td>{key}</td>" in sections["schema"]
    assert "No anomalies." in sections["anomalies"]

    evaluation = inspection.latest_artifacts(push_run.metadata_path).evaluation
    cells = quality.by_operands(evaluation.uri)
    maps = re.findall(r'<table class="heatmap" data-operation="(.)">(.*?)</table>',
                      sections["model-quality"], re.S)
    assert [operation for operation, _ in maps] == list(features.OPERATORS)
    for operation, table in maps:
        (share, count), = cells[operation].values()  # the tiny profile: one-digit operands
        assert f"of {count} examples\">{share:.1%}</td>" in table, table


@pytest.mark.e2e
def test_anomalies_of_a_tightened_schema_are_listed(data_run):
    """The anomaly path without another pipeline: validate this run's statistics against a
    stricter copy of the curated schema, then format them."""
    import tensorflow_data_validation as tfdv
    loaded = inspection.load(data_run.root)
    curated = tfdv.load_schema_text(CURATED_SCHEMA)
    # Control: the curated schema itself accepts these statistics.
    for split in loaded.splits:
        assert not tfdv.validate_statistics(loaded.statistics[split], curated,
                                            environment="TRAINING").anomaly_info
    tight = tfdv.load_schema_text(CURATED_SCHEMA)
    tfdv.get_feature(tight, features.RES).value_count.max = 1  # results of 2+ characters
    operators = tfdv.get_domain(tight, features.OP)
    operators.ClearField("value")
    operators.value.extend(["x", "y", "+"])  # no '-' or '*'
    found = {split: tfdv.validate_statistics(loaded.statistics[split], tight,
                                             environment="TRAINING")
             for split in loaded.splits}
    flagged = dataclasses.replace(loaded, anomalies=found)
    assert flagged.has_anomalies and not loaded.has_anomalies

    lines = section(inspection.format_summary(flagged), "Anomalies")
    assert "  no anomalies" not in lines
    assert len(lines) == 2 * len(loaded.splits)
    for split in loaded.splits:
        assert any(line.startswith(f"  [{split}] feature 'op': Unexpected string values:")
                   for line in lines), lines
        assert any(line.startswith(f"  [{split}] feature 'res': ") and "more values" in line
                   for line in lines), lines
    assert any("*" in line for line in lines if "'op'" in line)

    page = html_report.render(flagged)
    anomalies = re.search(r'<section id="anomalies">(.*?)</section>', page, re.S).group(1)
    assert f"{2 * len(loaded.splits)} anomalies." in anomalies
    assert anomalies.count("<tr>") == 1 + 2 * len(loaded.splits)
    assert "<td>op</td>" in anomalies and "<td>res</td>" in anomalies


def test_missing_store_names_the_root(tmp_path, capsys):
    root = str(tmp_path / "never-run")
    with pytest.raises(inspection.InspectionError) as error:
        inspection.latest_artifacts(Paths(root).metadata_path, root)
    assert str(error.value).startswith(NO_STATISTICS.format(root=root))
    assert inspection.main(root, str(tmp_path / "r.html")) == inspection.EXIT_NOTHING_TO_INSPECT
    assert NO_STATISTICS.format(root=root) in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_store_without_statistics_names_the_root(tmp_path):
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2
    root = str(tmp_path)
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = Paths(root).metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    metadata_store.MetadataStore(config)  # an empty store, as after a run that failed early
    with pytest.raises(inspection.InspectionError) as error:
        inspection.summary(root)
    assert str(error.value).startswith(NO_STATISTICS.format(root=root))


def test_unreadable_store_names_the_root(tmp_path, capsys):
    root = str(tmp_path)
    with open(Paths(root).metadata_path, "w") as garbage:
        garbage.write("not an sqlite database\n" * 100)
    with pytest.raises(inspection.InspectionError) as error:
        inspection.latest_artifacts(Paths(root).metadata_path, root)
    assert str(error.value).startswith(
        NO_STATISTICS.format(root=root) + " (cannot open the metadata store")
    assert inspection.main(root) == inspection.EXIT_NOTHING_TO_INSPECT
    assert NO_STATISTICS.format(root=root) in capsys.readouterr().err


def test_digest_recovers_integer_counts_and_text_lengths():
    from tensorflow_metadata.proto.v0 import statistics_pb2
    dataset = statistics_pb2.DatasetFeatureStatistics(num_examples=10)
    digits = dataset.features.add(type=statistics_pb2.FeatureNameStatistics.INT)
    digits.path.step.append("x_digits")
    digits.num_stats.min, digits.num_stats.max, digits.num_stats.mean = 1, 2, 1.4
    digits.num_stats.common_stats.num_non_missing = 10
    digits.num_stats.common_stats.min_num_values = 1
    digits.num_stats.common_stats.max_num_values = 1
    histogram = digits.num_stats.histograms.add(type=statistics_pb2.Histogram.STANDARD)
    # TFDV's buckets of integer data: one per integer plus empty interpolation residue.
    histogram.buckets.add(low_value=1, high_value=1, sample_count=6)
    histogram.buckets.add(low_value=1.1, high_value=1.9, sample_count=0)
    histogram.buckets.add(low_value=2, high_value=2, sample_count=4)
    text = dataset.features.add(type=statistics_pb2.FeatureNameStatistics.BYTES)
    text.path.step.append("res")
    common = text.string_stats.common_stats
    common.num_non_missing, common.min_num_values, common.max_num_values = 8, 1, 3
    common.avg_num_values = 1.5
    for low, high, count in [(1, 1, 5), (2, 3, 3)]:
        common.num_values_histogram.buckets.add(low_value=low, high_value=high,
                                                sample_count=count)
    text.string_stats.unique = 2
    text.string_stats.top_values.add(value="7", frequency=9)
    text.string_stats.top_values.add(value="-", frequency=3)

    found = statistics_digest.digest(dataset)
    assert inspection.digest is statistics_digest.digest  # still importable from inspection
    assert found["x_digits"].kind == "int"
    assert found["x_digits"].value_histogram == (("1", 6.0), ("2", 4.0))
    assert inspection.top_values(found["x_digits"]) == "1: 6, 2: 4"
    assert found["res"].kind == "text" and found["res"].missing == 2
    assert found["res"].length_histogram == (("1", 5.0), ("2", 1.5), ("3", 1.5))
    assert inspection.top_values(found["res"], 1) == "'7' 9, ... (1 more)"
