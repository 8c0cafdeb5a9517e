"""ServingCheck's executor: probe the model in a subprocess, check, write the blessing."""
import json
import logging
import os
import subprocess
import sys
from typing import Any, Dict, List

from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.serving_check import canaries, spec

REPORT = "report.json"
BLESSED_FILE, NOT_BLESSED_FILE = "INFRA_BLESSED", "INFRA_NOT_BLESSED"


def _parameters(exec_properties: Dict[str, Any]) -> Dict[str, float]:
    values = {key: exec_properties[key] for key in
              (spec.MAX_LATENCY_MS, spec.MIN_CANARY_ACCURACY, spec.TIMEOUT_SECONDS, spec.REPEATS)}
    if not values[spec.MAX_LATENCY_MS] > 0:
        raise ValueError(f"{spec.MAX_LATENCY_MS}={values[spec.MAX_LATENCY_MS]} must be positive")
    if not 0 <= values[spec.MIN_CANARY_ACCURACY] <= 1:
        raise ValueError(f"{spec.MIN_CANARY_ACCURACY}={values[spec.MIN_CANARY_ACCURACY]} "
                         "must be in [0, 1]")
    for key in (spec.TIMEOUT_SECONDS, spec.REPEATS):
        if not values[key] >= 1:
            raise ValueError(f"{key}={values[key]} must be at least 1")
    return values


def run_probe(model_dir: str, repeats: int, timeout_seconds: int) -> Dict:
    """The probe's report, or {"failures": [why it could not run]}."""
    command = [sys.executable, "-m", "components.serving_check.probe", model_dir, str(repeats)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_seconds,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    except subprocess.TimeoutExpired:
        return {"failures": [f"the model did not answer within {timeout_seconds} s"]}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"failures": [f"the model could not be loaded or served: {last}"]}
    return json.loads(done.stdout.strip().splitlines()[-1])


class Executor(base_executor.BaseExecutor):

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        parameters = _parameters(exec_properties)
        model = artifact_utils.get_single_instance(input_dict[spec.MODEL])
        blessing = artifact_utils.get_single_instance(output_dict[spec.BLESSING])
        report = run_probe(path_utils.serving_model_path(model.uri), int(parameters[spec.REPEATS]),
                           int(parameters[spec.TIMEOUT_SECONDS]))
        if "failures" not in report:
            report["failures"] = canaries.check(report, parameters[spec.MAX_LATENCY_MS],
                                                parameters[spec.MIN_CANARY_ACCURACY])
            report["canaries_correct"] = canaries.correct(report["batch_n"])
            blessing.set_int_custom_property("canaries_correct", report["canaries_correct"])
            blessing.set_float_custom_property("p50_latency_ms", canaries.median_latency(report))
        blessed = not report["failures"]
        with fileio.open(os.path.join(blessing.uri, REPORT), "w") as f:
            json.dump(report, f, indent=1)
        with fileio.open(os.path.join(blessing.uri, BLESSED_FILE if blessed else NOT_BLESSED_FILE),
                         "w") as f:
            f.write("")
        blessing.set_int_custom_property("blessed", int(blessed))
        if blessed:
            logging.info("ServingCheck: model blessed (%s of %d valid canaries right)",
                         report["canaries_correct"], len(canaries.VALID))
        else:
            logging.warning("ServingCheck: model NOT blessed:\n  %s",
                            "\n  ".join(report["failures"]))
