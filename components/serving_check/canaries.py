"""ServingCheck's canary requests and the checks on the model's answers to them.

The probe (a fresh process) sends every canary one at a time (batch 1) and all together (batch
N) to `serving_default` and reports the raw answers; `evaluate` turns them into named checks.
"""
import math
import statistics
from typing import Dict, List, NamedTuple, Optional, Sequence

from modules import serving_contract
from modules.serving_contract import CONFIDENCE, ERROR, RES

# Check names, in the order they are reported.
LOADS = "loads"                            # the SavedModel loads in a fresh process, in time
SIGNATURE = "signature"                    # serving_default: examples -> res, confidence, error
REJECTS_MALFORMED = "rejects_malformed"    # error set, res empty, confidence 0, no exception
ACCEPTS_VALID = "accepts_valid"            # no input error; an empty error comes with an integer
CONFIDENCE_RANGE = "confidence_range"      # every confidence finite and in [0, 1]
BATCH_CONSISTENCY = "batch_consistency"    # batch 1 and batch N give the same answers
LATENCY = "latency"                        # median batch-1 latency <= max_latency_ms
ACCURACY = "accuracy"                      # share of valid canaries answered right >= floor
CHECKS = (LOADS, SIGNATURE, REJECTS_MALFORMED, ACCEPTS_VALID, CONFIDENCE_RANGE,
          BATCH_CONSISTENCY, LATENCY, ACCURACY)

_CONFIDENCE_RTOL, _CONFIDENCE_ATOL = 1e-4, 1e-5


class Canary(NamedTuple):
    defs: str
    op: str
    answer: str = ""           # the right result, for valid canaries
    rejection: str = ""        # words the error should contain, for malformed canaries
    per_character: bool = False  # send each field one character per value, as the generator does

    @property
    def malformed(self) -> bool:
        return bool(self.rejection)

    @property
    def key(self) -> str:
        return f"{self.defs}:{self.op}"

    @property
    def label(self) -> str:
        key = self.key
        return repr(key if len(key) <= 32 else key[:29] + "...")


# Operands within [-9, 9], the narrowest range a profile trains on (tiny).
VALID = (
    Canary("x=3,y=-4", "x*y", "-12"),
    Canary("y=-8,x=-9", "y*x", "72"),
    Canary("y=7,x=2", "x-y", "-5"),
    Canary("x=4,y=-3", "y-x", "-7"),
    Canary("x=5,y=6", "y+x", "11"),
    Canary("y=9,x=0", "x+y", "9"),
    Canary("y=8,x=-3", "x+y", "5", per_character=True),
    Canary("x=-5,y=6", "x-y", "-11", per_character=True),
)
MALFORMED = (
    Canary("x=3,y=4?", "x+y", rejection=serving_contract.UNKNOWN_CHARACTER),
    Canary("x=3,y=4", "x/y", rejection=serving_contract.UNKNOWN_CHARACTER),
    Canary("x=3,y=4", "", rejection=serving_contract.MISSING_OP),
    Canary("", "x*y", rejection=serving_contract.MISSING_DEFS),
    Canary("x=3", "x*y", rejection=serving_contract.BAD_DEFS),
    Canary("x=" + "9" * 200 + ",y=1", "x+y", rejection=serving_contract.TOO_LONG),
    # Beyond generator.max_val's own limit (10**9), so outside every model's trained range.
    Canary("x=10000000000,y=1", "x*y", rejection=serving_contract.OUT_OF_RANGE),
)
ALL = VALID + MALFORMED


def request(canary: Canary) -> bytes:
    return serving_contract.request(canary.defs, canary.op, canary.per_character)


def _integer(text: str) -> bool:
    digits = text[1:] if text.startswith("-") else text
    return digits.isdigit() and digits.isascii()


def _confidence_ok(value: float) -> bool:
    return math.isfinite(value) and 0.0 <= value <= 1.0


def _same(one: Dict, many: Dict) -> bool:
    return (one[RES] == many[RES] and one[ERROR] == many[ERROR]
            and math.isclose(one[CONFIDENCE], many[CONFIDENCE],
                             rel_tol=_CONFIDENCE_RTOL, abs_tol=_CONFIDENCE_ATOL))


def _show(answer: Dict) -> str:
    if "raised" in answer:
        return f"raised {answer['raised']}"
    return (f"res {answer[RES][:20]!r}, confidence {answer[CONFIDENCE]:.4g}, "
            f"error {answer[ERROR][:60]!r}")


class _Failures:
    def __init__(self):
        self.by_check: Dict[str, List[str]] = {}

    def add(self, check: str, message: str) -> None:
        self.by_check.setdefault(check, []).append(message)

    def result(self, **rest) -> Dict:
        failed = [check for check in CHECKS if check in self.by_check]
        return {"failed_checks": failed,
                "failures": [f"{check}: {message}" for check in failed
                             for message in self.by_check[check]],
                **rest}


def failed(check: str, reason: str) -> Dict:
    """The result when the probe could not get answers at all (model did not load, ...)."""
    failures = _Failures()
    failures.add(check, reason)
    return failures.result(warnings=[], canaries_correct=0, canaries_valid=len(VALID),
                           p50_ms=None, max_ms=None, canaries=[])


def evaluate(answers_alone: Sequence[Dict], answers_together: Optional[Sequence[Dict]],
             together_raised: str, latencies_ms: Sequence[float],
             max_latency_ms: float, min_canary_accuracy: float,
             latency_raised: str = "") -> Dict:
    """Every check on the answers to ALL (in order), with one sentence per failure.

    An answer is {"res", "confidence", "error"} or {"raised": message}. `answers_together` is
    None when the batch-N call raised `together_raised`; `latency_raised` is set when a timed
    repeat of an answered request raised.
    """
    if len(answers_alone) != len(ALL):
        raise ValueError(f"{len(answers_alone)} batch-1 answers for {len(ALL)} canaries")
    failures, warnings, correct = _Failures(), [], 0
    for canary, answer in zip(ALL, answers_alone):
        check = REJECTS_MALFORMED if canary.malformed else ACCEPTS_VALID
        if "raised" in answer:
            failures.add(check, f"request {canary.label} raised instead of being answered: "
                                f"{answer['raised']}")
            continue
        if canary.malformed:
            if not answer[ERROR] or answer[RES] or answer[CONFIDENCE] != 0.0:
                failures.add(REJECTS_MALFORMED, f"malformed request {canary.label} was not "
                             f"rejected cleanly ({_show(answer)}); expected an error, empty "
                             "res and confidence 0")
            elif canary.rejection not in answer[ERROR]:
                warnings.append(f"malformed request {canary.label} was rejected with "
                                f"{answer[ERROR]!r}, which does not say {canary.rejection!r}")
        else:
            if serving_contract.input_error(answer[ERROR]):
                failures.add(ACCEPTS_VALID, f"valid request {canary.label} was refused: "
                                            f"{answer[ERROR]!r}")
            elif not answer[ERROR] and not _integer(answer[RES]):
                failures.add(ACCEPTS_VALID, f"valid request {canary.label} got res "
                             f"{answer[RES]!r}, not an integer, without an error")
            correct += int(answer[RES] == canary.answer and not answer[ERROR])
    for batch, answers in (("1", answers_alone), (str(len(ALL)), answers_together or ())):
        for canary, answer in zip(ALL, answers):
            if "raised" not in answer and not _confidence_ok(answer[CONFIDENCE]):
                failures.add(CONFIDENCE_RANGE, f"request {canary.label} at batch {batch} has "
                             f"confidence {answer[CONFIDENCE]}, outside [0, 1]")

    if answers_together is None:
        failures.add(BATCH_CONSISTENCY, f"the batch of all {len(ALL)} canaries raised: "
                                        f"{together_raised}")
    else:
        for canary, one, many in zip(ALL, answers_alone, answers_together):
            if "raised" not in one and not _same(one, many):
                failures.add(BATCH_CONSISTENCY, f"request {canary.label} is answered "
                             f"differently alone ({_show(one)}) and in a batch of {len(ALL)} "
                             f"({_show(many)})")

    p50_ms = statistics.median(latencies_ms) if latencies_ms else None
    max_ms = max(latencies_ms) if latencies_ms else None
    if latency_raised:
        failures.add(LATENCY, f"a timed repeat of an answered request raised: {latency_raised}")
    if p50_ms is None:
        failures.add(LATENCY, "no batch-1 request was answered, so latency is unknown")
    elif p50_ms > max_latency_ms:
        failures.add(LATENCY, f"median batch-1 latency {p50_ms:.1f} ms exceeds "
                              f"max_latency_ms={max_latency_ms:g}")
    accuracy = correct / len(VALID)
    if accuracy < min_canary_accuracy:
        failures.add(ACCURACY, f"{correct} of {len(VALID)} valid canaries answered right "
                               f"({accuracy:.0%}), below min_canary_accuracy="
                               f"{min_canary_accuracy:g}")
    table = [{"request": canary.key, "malformed": canary.malformed,
              "expected": canary.rejection if canary.malformed else canary.answer,
              "per_character": canary.per_character, "batch_1": one,
              "batch_n": many} for canary, one, many in
             zip(ALL, answers_alone, answers_together or [None] * len(ALL))]
    return failures.result(warnings=warnings, canaries_correct=correct,
                           canaries_valid=len(VALID), p50_ms=p50_ms, max_ms=max_ms,
                           canaries=table)
