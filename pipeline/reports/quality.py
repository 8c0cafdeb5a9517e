"""What the Evaluator measured: exact match overall and per operation, read from its output."""
from typing import Dict, List, Tuple

from modules import features, metrics

OVERALL = "all"
EXAMPLE_COUNT = "example_count"


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


def by_operands(evaluation_uri: str, model: str = "candidate"
                ) -> Dict[str, Dict[Tuple[int, int], Tuple[float, int]]]:
    """{"+": {(x digits, y digits): (exact match, examples), ...}, ...}, from the Evaluator's
    operation x x_digits x y_digits slices."""
    import tensorflow_model_analysis as tfma
    names = ("", "candidate") if model == "candidate" else (model,)
    cells: Dict[str, Dict[Tuple[int, int], Tuple[float, int]]] = {}
    for per_slice in tfma.load_metrics(evaluation_uri):
        keys = {key.column: key.int64_value for key in per_slice.slice_key.single_slice_keys}
        if set(keys) != {features.OPERATION, features.X_DIGITS, features.Y_DIGITS}:
            continue
        values = {entry.key.name: entry.value.double_value.value
                  for entry in per_slice.metric_keys_and_values
                  if not entry.key.is_diff and not entry.key.example_weighted.value and (
                      entry.key.model_name in names or (
                          entry.key.name == EXAMPLE_COUNT and not entry.key.model_name))}
        if metrics.EXACT_MATCH in values and EXAMPLE_COUNT in values:
            operation = features.OPERATORS[keys[features.OPERATION]]
            cells.setdefault(operation, {})[(keys[features.X_DIGITS], keys[features.Y_DIGITS])] = (
                values[metrics.EXACT_MATCH], int(values[EXAMPLE_COUNT]))
    return {operation: dict(sorted(cells[operation].items()))
            for operation in features.OPERATORS if operation in cells}


def by_digits(evaluation_uri: str, model: str = "candidate") -> Dict[str, Dict[int, float]]:
    """{"+": {1: share, 2: share, ...}, ...}: exact match per operation and digit count of the
    longer operand (the cells of `by_operands`, each weighted by its examples)."""
    return longer_operand(by_operands(evaluation_uri, model))


def longer_operand(cells_per_operation: Dict[str, Dict[Tuple[int, int], Tuple[float, int]]]
                   ) -> Dict[str, Dict[int, float]]:
    """`by_operands` cells merged by the digit count of the longer operand."""
    found = {}
    for operation, cells in cells_per_operation.items():
        sums: Dict[int, List[float]] = {}
        for (x_digits, y_digits), (share, count) in cells.items():
            total = sums.setdefault(max(x_digits, y_digits), [0.0, 0])
            total[0] += share * count
            total[1] += count
        found[operation] = {digits: weighted / count
                            for digits, (weighted, count) in sorted(sums.items()) if count}
    return found


def describe(shares: Dict[str, float]) -> str:
    """`87.1% (+ 99.5%, - 99.2%, * 62.7%)`"""
    parts = [f"{op} {shares[op]:.1%}" for op in features.OPERATORS if op in shares]
    overall = f"{shares[OVERALL]:.1%}" if OVERALL in shares else "?"
    return f"{overall} ({', '.join(parts)})" if parts else overall


def digit_table(tables: Dict[str, Dict[str, Dict]]) -> List[str]:
    """Lines of a small table of `by_digits` results, one block of rows per label (a model
    version, or "" for one model): a row per operation, a column per digit count. Keys read
    from a saved report's JSON (strings) count as digit counts too.

                   op       1       2       3       4
        1795682258 +   100.0%   99.8%   99.1%   97.0%
    """
    columns = sorted({int(digits) for table in tables.values() for row in table.values()
                      for digits in row})
    width = max([len(label) for label in tables] + [0])
    lines = [f"{'':<{width}} op" + "".join(f"{digits:>8}" for digits in columns)]
    for label, table in tables.items():
        for operation, row in table.items():
            shares = {int(digits): share for digits, share in row.items()}
            lines.append(f"{label:<{width}} {operation:<2}" + "".join(
                f"{shares[digits]:8.1%}" if digits in shares else f"{'-':>8}"
                for digits in columns))
            label = ""
    return lines
