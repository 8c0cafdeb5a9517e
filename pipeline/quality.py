"""What the Evaluator measured: exact match overall and per operation, read from its output."""
from typing import Dict

from modules import features, metrics

OVERALL = "all"


def exact_match(evaluation_uri: str, model: str = "candidate") -> Dict[str, float]:
    """{"all": share, "+": share, ...} of the candidate model (or of the "baseline") on the
    evaluated split; empty for a baseline when there was none."""
    return measured(evaluation_uri, metrics.EXACT_MATCH, model)


def measured(evaluation_uri: str, metric: str, model: str = "candidate") -> Dict[str, float]:
    """{"all": value, "+": value, ...} of one metric of modules/metrics.py."""
    import tensorflow_model_analysis as tfma
    found = {}
    for per_slice in tfma.load_metrics(evaluation_uri):
        keys = per_slice.slice_key.single_slice_keys
        if not keys:
            name = OVERALL
        elif len(keys) == 1 and keys[0].column == features.OPERATION:
            name = features.OPERATORS[keys[0].int64_value]
        else:
            continue
        for entry in per_slice.metric_keys_and_values:
            key = entry.key
            names = ("", "candidate") if model == "candidate" else (model,)
            if key.name == metric and not key.is_diff and key.model_name in names:
                found[name] = entry.value.double_value.value
    return found


def describe(shares: Dict[str, float]) -> str:
    """`87.1% (+ 99.5%, - 99.2%, * 62.7%)`"""
    parts = [f"{op} {shares[op]:.1%}" for op in features.OPERATORS if op in shares]
    overall = f"{shares[OVERALL]:.1%}" if OVERALL in shares else "?"
    return f"{overall} ({', '.join(parts)})" if parts else overall
