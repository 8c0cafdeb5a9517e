"""The Evaluator's drop gate end to end, on a root of its own (so that it runs beside the tests
that share the session's tiny runs): with no loss gates, a model less exact than the one being
served is refused by the allowed drop of exact match (none) alone."""
import re

import pytest

from components.atomic_pusher.serving_dir import versions as serving_versions
from modules import config
from pipeline.reports import push_report, quality
from pipeline.serving import versions
from tests.conftest import run_pipeline

pytestmark = pytest.mark.e2e


def test_a_model_worse_than_the_pushed_one_is_not_blessed(tmp_path):
    root = str(tmp_path)
    # First a model that answers some one-digit problems right (the tiny profile's 300 steps
    # may answer none of its test split), pushed.
    served_dir = run_pipeline(config.with_overrides(
        config.profile("tiny"), ["model.train_steps=1200"]), root, "push").serving_dir
    before = serving_versions(served_dir)
    served = versions.listing(root)[-1]
    # Some right answers are all the gate needs: a model that gets none is then measurably worse.
    assert len(before) == 1 and served.exact_match[quality.OVERALL] > 0, served
    # The same span (its data and Transform cached), one step from scratch: a Trainer warm-starts
    # only from a model of an earlier span.
    worse = config.with_overrides(config.profile("tiny"), [
        "model.train_steps=1", "model.warmup_steps=0", "eval.max_exact_match_drop=0",
        "eval.max_loss=100", "eval.max_loss_increase=100"])
    run_pipeline(worse, root, "push")
    assert serving_versions(served_dir) == before
    report = push_report.explain(root)
    reasons = [line.strip() for line in report.splitlines() if "Evaluator: " in line]
    assert len(reasons) == 1 and re.fullmatch(
        r"Evaluator: exact_match change vs\. the last pushed model = -0\.\d+ on slice overall "
        r"fails the allowed change -0\.0000", reasons[0]), report
    assert "trained from scratch: no pushed model to start from" in report, report
