"""Canary requests for ServingCheck and the checks on the model's answers to them."""
import statistics
from typing import Dict, List, NamedTuple

NO_INTEGER = "the model gave no integer"


class Canary(NamedTuple):
    defs: str
    op: str
    answer: str = ""      # the right result, for valid canaries
    rejection: str = ""   # words the error must contain, for malformed canaries


VALID = (
    Canary("x=3,y=-4", "x*y", "-12"),
    Canary("y=7,x=2", "x-y", "-5"),
    Canary("x=5,y=6", "y+x", "11"),
    Canary("y=-8,x=-9", "y*x", "72"),
    Canary("x=0,y=9", "x+y", "9"),
    Canary("y=4,x=-3", "y-x", "7"),
)
MALFORMED = (
    Canary("x=3,y=4?", "x+y", rejection="unknown character"),
    Canary("x=3,y=4", "", rejection="missing op"),
    Canary("", "x*y", rejection="missing defs"),
    Canary("x=3", "x*y", rejection="defs must define x and y"),
    Canary("x=3,y=4", "x/y", rejection="unknown character"),
    Canary("x=" + "9" * 200 + ",y=1", "x+y", rejection="longer than"),
)
ALL = VALID + MALFORMED


def check(report: Dict, max_latency_ms: float, min_canary_accuracy: float) -> List[str]:
    """Failures, one sentence each, from the probe's report (empty: the model passes)."""
    failures = []
    alone, together = report["batch_1"], report["batch_n"]
    for canary, answer in zip(ALL, together):
        request = f"{canary.defs}:{canary.op}"
        if canary.rejection:
            if canary.rejection not in answer["error"] or answer["res"]:
                failures.append(f"malformed request {request[:40]!r} was not rejected cleanly "
                                f"(res {answer['res']!r}, error {answer['error']!r}); expected "
                                f"an error containing {canary.rejection!r}")
        elif answer["error"] not in ("", NO_INTEGER):
            failures.append(f"valid request {request!r} was refused: {answer['error']!r}")
        if not 0.0 <= answer["confidence"] <= 1.0:
            failures.append(f"request {request[:40]!r} has confidence {answer['confidence']} "
                            "outside [0, 1]")
    for canary, one, many in zip(ALL, alone, together):
        if one["res"] != many["res"] or abs(one["confidence"] - many["confidence"]) > 1e-4:
            failures.append(f"request {canary.defs}:{canary.op} is answered differently alone "
                            f"({one['res']!r}, {one['confidence']:.4f}) and in a batch of "
                            f"{len(ALL)} ({many['res']!r}, {many['confidence']:.4f})")
    p50 = median_latency(report)
    if p50 > max_latency_ms:
        failures.append(f"median latency {p50:.1f} ms exceeds max_latency_ms={max_latency_ms}")
    accuracy = correct(together) / len(VALID)
    if accuracy < min_canary_accuracy:
        failures.append(f"{accuracy:.0%} of valid canaries answered right, below "
                        f"min_canary_accuracy={min_canary_accuracy}")
    return failures


def correct(answers: List[Dict]) -> int:
    return sum(answer["res"] == canary.answer for canary, answer in zip(VALID, answers))


def median_latency(report: Dict) -> float:
    return statistics.median(report["latencies_ms"])
