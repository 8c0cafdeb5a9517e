"""TFMA for real on the tiny trained model: the custom metrics per slice equal the means of the
`evaluate` signature's own per-example outputs, and the thresholds of pipeline.evaluation
bless or refuse a candidate against a baseline as the Evaluator would."""
from collections import defaultdict

import numpy as np
import pytest

from components.sample_generator import samples
from modules import export, features, metrics
from pipeline import evaluation
from modules.config import EvalConfig

pytestmark = pytest.mark.e2e

SCORES = (metrics.EXACT_MATCH, metrics.TOKEN_ACCURACY, metrics.LOSS)


@pytest.fixture(scope="module")
def model_dir(train_run) -> str:
    return train_run.model_dir


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """~200 raw examples: one-digit operands of every operator (as the tiny model was trained
    on) and some two-digit sums and differences, so that each slice feature has two values."""
    import tensorflow as tf
    drawn = (samples.generate(150, 9, features.OPERATORS, samples.shard_rng(7, 0))
             + samples.generate(50, 99, ("+", "-"), samples.shard_rng(7, 1)))
    path = str(tmp_path_factory.mktemp("evaluation") / "examples.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for sample in drawn:
            writer.write(samples.to_example(sample))
    return path, drawn


@pytest.fixture(scope="module")
def direct(model_dir, data):
    """The signature's per-example outputs, computed without TFMA."""
    import tensorflow as tf
    _, drawn = data
    signature = tf.saved_model.load(model_dir).signatures[export.EVALUATE]
    outputs = signature(examples=tf.constant([samples.to_example(s) for s in drawn]))
    return {score: outputs[score].numpy().astype(np.float64) for score in SCORES}


@pytest.fixture(scope="module")
def loss_ceiling(data, direct) -> float:
    """A ceiling just above the loss of this data, weighted by x_digits or not. The data holds
    two-digit operands the tiny model never saw, so its loss is not the tiny profile's: how far
    above 1 it lands depends on the machine's floating point, and a fixed ceiling was flaky."""
    _, drawn = data
    weights = np.array([sample.x_digits for sample in drawn], np.float64)
    losses = direct[metrics.LOSS]
    return 1.01 * max(losses.mean(), np.sum(weights * losses) / np.sum(weights))


def _analyze(config, model_dir: str, data_path: str, output: str, with_baseline: bool):
    """What the TFX Evaluator executor does with an eval config: defaults for a present or
    missing baseline (rubber-stamping the first run), one shared model per model spec."""
    import tensorflow_model_analysis as tfma
    config = tfma.utils.update_eval_config_with_defaults(
        config, has_baseline=with_baseline, rubber_stamp=True)
    tfma.utils.verify_eval_config(config)
    models = [tfma.default_eval_shared_model(model_dir, model_name=spec.name, eval_config=config)
              for spec in config.model_specs]
    tfma.run_model_analysis(eval_shared_model=models if with_baseline else models[0],
                            eval_config=config, data_location=data_path, output_path=output)
    return tfma.load_validation_result(output)


def _metrics(output: str):
    """{(slice, model name, metric name, weighted, is diff): value} from the written metrics."""
    import tensorflow_model_analysis as tfma
    found = {}
    for per_slice in tfma.load_metrics(output):
        slice_key = tuple((key.column, key.int64_value)
                          for key in per_slice.slice_key.single_slice_keys)
        for entry in per_slice.metric_keys_and_values:
            key = entry.key
            found[(slice_key, key.model_name, key.name, key.example_weighted.value,
                   key.is_diff)] = entry.value.double_value.value
    return found


def _slices(drawn):
    """Example indices of every slice of the eval config: overall, one per feature value, and
    one per combination of the three features' values."""
    members = defaultdict(list)
    for index, sample in enumerate(drawn):
        members[()].append(index)
        for key in evaluation.SLICE_FEATURES:
            members[((key, getattr(sample, key)),)].append(index)
        members[tuple((key, getattr(sample, key)) for key in evaluation.SLICE_FEATURES)].append(
            index)
    return members


@pytest.fixture(scope="module")
def single(model_dir, data, loss_ceiling, tmp_path_factory):
    """One model (a first run: no blessed model yet), its examples also weighted by x_digits to
    check the weighted means: (output folder, validation result)."""
    data_path, _ = data
    config = evaluation.eval_config(EvalConfig(max_loss=loss_ceiling, min_exact_match=0.0,
                                               max_exact_match_drop=0.0))
    config.model_specs[0].example_weight_key = features.X_DIGITS
    config.metrics_specs[0].example_weights.weighted = True
    config.metrics_specs[0].example_weights.unweighted = True
    output = str(tmp_path_factory.mktemp("evaluation") / "single")
    return output, _analyze(config, model_dir, data_path, output, with_baseline=False)


@pytest.fixture(scope="module")
def pair(model_dir, data, loss_ceiling, tmp_path_factory):
    """The model as candidate and as its own baseline: (output folder, validation result)."""
    data_path, _ = data
    output = str(tmp_path_factory.mktemp("evaluation") / "pair")
    return output, _analyze(
        evaluation.eval_config(EvalConfig(max_loss=loss_ceiling, min_exact_match=0.0,
                                          max_exact_match_drop=0.0)),
        model_dir, data_path, output, with_baseline=True)


def test_metrics_per_slice_are_the_means_of_the_signature_outputs(data, direct, single):
    """First run (no blessed model yet): change thresholds are dropped, the floor of 0 holds.
    Examples are also weighted by x_digits, to check the weighted means."""
    _, drawn = data
    output, validation = single
    assert validation.validation_ok, validation
    found = _metrics(output)

    slices = _slices(drawn)
    crossed = {(s.operation, s.x_digits, s.y_digits) for s in drawn}
    # overall, operators, 1-2 digits each, and every combination present in the data
    assert len(slices) == 1 + 3 + 2 + 2 + len(crossed) and len(crossed) > 3, sorted(slices)
    weights = np.array([sample.x_digits for sample in drawn], np.float64)
    assert direct[metrics.TOKEN_ACCURACY].mean() > 0  # so the comparison below means something
    for slice_key, members in slices.items():
        assert found[(slice_key, "", "example_count", False, False)] == len(members), slice_key
        for score in SCORES:
            values = direct[score][members]
            measured = found[(slice_key, "", score, False, False)]
            assert measured == pytest.approx(values.mean(), abs=1e-5), (slice_key, score)
            weighted = np.sum(weights[members] * values) / np.sum(weights[members])
            assert found[(slice_key, "", score, True, False)] == pytest.approx(
                weighted, abs=1e-5), (slice_key, score)
            if score != metrics.LOSS:
                assert 0.0 <= measured <= 1.0, (slice_key, score, measured)
        assert found[(slice_key, "", metrics.LOSS, False, False)] > 0, slice_key


def _by_digits_directly(drawn, exact):
    """Exact match per operation and digit count of the longer operand, without TFMA."""
    cells = defaultdict(list)
    for sample, right in zip(drawn, exact):
        cells[(features.OPERATORS[sample.operation], max(sample.x_digits, sample.y_digits))].append(
            right)
    found = defaultdict(dict)
    for (operation, digits), values in sorted(cells.items()):
        found[operation][digits] = float(np.mean(values))
    return dict(found)


def test_the_report_reads_exact_match_per_operation_and_digits(data, direct, single, pair):
    """pipeline.reports.quality's tables, of one model and of a candidate beside its baseline,
    equal the per-example outputs grouped by operation and the longer operand's digit count (the
    single run's weighted metrics are left out)."""
    from pipeline.reports import quality
    _, drawn = data
    expected = _by_digits_directly(drawn, direct[metrics.EXACT_MATCH])
    assert set(expected["+"]) == {1, 2}  # both digit counts, so the merge is tested
    for (output, _), models in ((single, ("candidate",)), (pair, ("candidate", "baseline"))):
        for model in models:
            found = quality.by_digits(output, model)
            assert found.keys() == expected.keys(), (model, found)
            for operation, row in expected.items():
                assert found[operation] == pytest.approx(row, abs=1e-5), (model, operation)
        cells = quality.by_operands(output)
        assert sum(count for row in cells.values() for _, count in row.values()) == len(drawn)


def test_candidate_no_worse_than_its_baseline_is_blessed(pair):
    output, validation = pair
    assert validation.validation_ok, validation
    found = _metrics(output)
    # Both models are evaluated and the candidate's change against the baseline is computed.
    for model in ("candidate", "baseline"):
        assert ((), model, metrics.EXACT_MATCH, False, False) in found, model
    assert found[((), "candidate", metrics.EXACT_MATCH, False, True)] == 0.0
    assert found[((), "candidate", metrics.LOSS, False, True)] == 0.0


def test_floor_ceiling_and_required_gain_that_cannot_be_met_refuse_the_candidate(
        model_dir, data, direct, tmp_path):
    """One run, three failures: a floor of 1.0 (the tiny model is not perfect), a loss ceiling
    just under the measured loss, and a change threshold that demands a gain of 0.5 over the
    baseline (the same model: no gain)."""
    data_path, _ = data
    assert direct[metrics.EXACT_MATCH].mean() < 1.0
    output = str(tmp_path / "refused")
    validation = _analyze(
        evaluation.eval_config(EvalConfig(max_loss=0.99 * direct[metrics.LOSS].mean(),
                                          min_exact_match=1.0, max_exact_match_drop=-0.5)),
        model_dir, data_path, output, with_baseline=True)
    assert not validation.validation_ok
    (per_slice,) = validation.metric_validations_per_slice
    assert not per_slice.slice_key.single_slice_keys  # only the overall slice gates
    failed = sorted((failure.metric_key.name, failure.metric_key.model_name,
                     failure.metric_key.is_diff,
                     tuple(field.name for field, _ in failure.metric_threshold.ListFields()))
                    for failure in per_slice.failures)
    assert failed == [(metrics.EXACT_MATCH, "candidate", False, ("value_threshold",)),
                      (metrics.EXACT_MATCH, "candidate", True, ("change_threshold",)),
                      (metrics.LOSS, "candidate", False, ("value_threshold",))], failed
