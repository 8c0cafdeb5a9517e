"""The lines a user sees while a run works. Code logs them to the `arith_tfx` logger; the
`run` command shows that logger on the terminal and sends everything else (TensorFlow, absl,
Beam and their worker processes) to the run's log file."""
import logging

LOGGER = "arith_tfx"


def report(message: str, *args) -> None:
    logging.getLogger(LOGGER).info(message, *args)
