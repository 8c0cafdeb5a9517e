"""What `arith-tfx run` printed: the run report it names on its last lines."""
import json


def report(stdout: str) -> dict:
    """The JSON run report whose path the run printed ("arith-tfx: report PATH; full log ...")."""
    path = next(line.split("report ", 1)[1].split(";")[0]
                for line in stdout.splitlines() if line.startswith("arith-tfx: report "))
    with open(path) as f:
        return json.load(f)
