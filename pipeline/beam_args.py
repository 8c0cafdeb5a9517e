"""Beam arguments for the laptop default: the DirectRunner, one worker process per core."""
import os
from typing import List


def local_beam_args(workers: int = 0) -> List[str]:
    workers = workers or os.cpu_count() or 1
    return ["--runner=DirectRunner", "--direct_running_mode=multi_processing",
            f"--direct_num_workers={workers}"]
