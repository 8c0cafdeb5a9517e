"""Beam's Python SDK worker pool for the EXTERNAL environment, as `python -m
apache_beam.runners.worker.worker_pool_main` runs it, with the choice its command line does not
offer: `--in-process` runs each SDK worker as a thread of this process instead of a new one.
Then TensorFlow is imported once, by the first job, instead of once per job (about 10 s each
here), but all workers share one interpreter: for tests and small data, not for parallelism."""
import argparse
import sys

from apache_beam.runners.worker.worker_pool_main import BeamFnExternalWorkerPoolServicer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args(argv)
    _, server = BeamFnExternalWorkerPoolServicer.start(use_process=not args.in_process,
                                                       port=args.port)
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    sys.exit(main())
