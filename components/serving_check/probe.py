"""ServingCheck's probe: runs in a fresh process, so a model that crashes or hangs while loading
or serving takes down only this process. Loads the SavedModel, checks the `serving_default`
signature, sends the canaries one at a time and all together, times batch-1 calls after a
warm-up, and prints one line `SERVING_CHECK_REPORT <json>`.

Usage: python -m components.serving_check.probe MODEL_DIR REPEATS
"""
import json
import sys
import time
from typing import Dict, List

import tensorflow as tf

from components.serving_check import canaries
from modules import serving_contract
from modules.serving_contract import CONFIDENCE, ERROR, INPUT, RES, SIGNATURE

MARKER = "SERVING_CHECK_REPORT "
# The output dtypes the serving contract allows.
OUTPUTS = {RES: (tf.string,), CONFIDENCE: (tf.float32, tf.float64), ERROR: (tf.string,)}


class ContractError(Exception):
    """The signature does not have the serving contract's inputs or outputs."""


def _brief(error: BaseException) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    text = f"{type(error).__name__}: {lines[0] if lines else ''}"
    return text if len(text) <= 300 else text[:297] + "..."


def _contract_problems(serve) -> List[str]:
    args, kwargs = serve.structured_input_signature
    problems = []
    if args or set(kwargs) != {INPUT}:
        problems.append(f"inputs are {sorted(kwargs)} (positional {len(args)}), expected only "
                        f"{INPUT!r}")
    elif kwargs[INPUT].dtype != tf.string or kwargs[INPUT].shape.rank != 1:
        problems.append(f"input {INPUT!r} is {kwargs[INPUT]}, expected string [None]")
    outputs = serve.structured_outputs
    for name, dtypes in OUTPUTS.items():
        if not isinstance(outputs, dict) or name not in outputs:
            problems.append(f"output {name!r} is missing")
        elif outputs[name].dtype not in dtypes:
            problems.append(f"output {name!r} is {outputs[name].dtype.name}, expected "
                            f"{' or '.join(d.name for d in dtypes)}")
    return problems


def _call(serve, requests: List[bytes]) -> List[Dict]:
    outputs = serve(**{INPUT: tf.constant(requests)})
    for name in OUTPUTS:
        if tuple(outputs[name].shape) != (len(requests),):
            raise ContractError(f"output {name!r} has shape {list(outputs[name].shape)} for a "
                                f"batch of {len(requests)}")
    return serving_contract.answers(outputs)


def _answer(serve, request: bytes) -> Dict:
    try:
        return _call(serve, [request])[0]
    except ContractError:
        raise
    except Exception as error:  # pylint: disable=broad-except
        return {"raised": _brief(error)}


def probe(model_dir: str, repeats: int) -> Dict:
    started = time.perf_counter()
    try:
        loaded = tf.saved_model.load(model_dir)
    except Exception as error:  # pylint: disable=broad-except
        return {"failed": canaries.LOADS,
                "reason": f"the SavedModel at {model_dir} does not load: {_brief(error)}"}
    load_seconds = time.perf_counter() - started
    signatures = getattr(loaded, "signatures", {})
    if SIGNATURE not in signatures:
        return {"failed": canaries.SIGNATURE,
                "reason": f"the SavedModel has no {SIGNATURE!r} signature "
                          f"(it has {sorted(signatures)})"}
    serve = signatures[SIGNATURE]
    problems = _contract_problems(serve)
    if problems:
        return {"failed": canaries.SIGNATURE,
                "reason": f"{SIGNATURE!r} breaks the serving contract: " + "; ".join(problems)}

    requests = [canaries.request(canary) for canary in canaries.ALL]
    try:
        try:
            together, together_raised = _call(serve, requests), ""
        except ContractError:
            raise
        except Exception as error:  # pylint: disable=broad-except
            together, together_raised = None, _brief(error)
        alone = [_answer(serve, request) for request in requests]  # also the warm-up
    except ContractError as error:
        return {"failed": canaries.SIGNATURE, "reason": f"{SIGNATURE!r} breaks the serving "
                                                        f"contract: {error}"}
    latencies_ms, latency_raised = [], ""
    answered = [request for request, answer in zip(requests, alone) if "raised" not in answer]
    try:
        for _ in range(repeats):
            for request in answered:
                started = time.perf_counter()
                outputs = serve(**{INPUT: tf.constant([request])})
                _ = [outputs[name].numpy() for name in OUTPUTS]
                latencies_ms.append((time.perf_counter() - started) * 1000.0)
    except Exception as error:  # pylint: disable=broad-except
        latency_raised = _brief(error)
    return {"load_seconds": load_seconds, "tensorflow": tf.__version__,
            "batch_1": alone, "batch_n": together, "batch_n_raised": together_raised,
            "latencies_ms": latencies_ms, "latency_raised": latency_raised}


def main(argv: List[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    print(MARKER + json.dumps(probe(argv[1], int(argv[2]))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
