"""`arith-tfx compile`: the pipeline as a spec for an orchestrator (Vertex AI Pipelines)."""
from modules import config as config_lib
from pipeline import beam_args
from pipeline.commands.arguments import add_config_args, add_runner_args, runner_options


def add(commands) -> None:
    parser = commands.add_parser(
        "compile", help="compile the pipeline for an orchestrator (Vertex AI Pipelines)")
    parser.add_argument("--target", choices=("vertex",), required=True,
                        help="vertex: a KFP v2 pipeline spec (JSON) for Vertex AI Pipelines")
    parser.add_argument("--image", required=True,
                        help="container image that runs every component, built from the "
                             "Dockerfile at the repository root")
    parser.add_argument("--pipeline-root", required=True, metavar="GS_URI",
                        help="where runs keep everything: data/, pipeline/ (TFX artifacts) and "
                             "serving/ below it")
    parser.add_argument("--output", default="pipeline.json", metavar="FILE",
                        help="the pipeline spec to write (default: %(default)s)")
    add_config_args(parser)
    add_runner_args(parser)
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    config = config_lib.from_args(args.profile, args.overrides)  # fails fast, before imports
    if args.runner == "flink":
        raise beam_args.RunnerError("--runner flink cannot be compiled for Vertex: its job "
                                    "server and worker pool addresses are this machine's; use "
                                    "--runner dataflow, or direct (Beam inside each component)")
    pipeline_args = beam_args.for_runner(runner_options(args)) + list(args.beam_arg)
    try:
        from pipeline import vertex
    except ImportError as error:
        raise beam_args.RunnerError(f"compiling for Vertex needs the KFP SDK ({error}): "
                                    "pip install --ignore-requires-python -c constraints.txt "
                                    "'.[vertex]'") from error
    written = vertex.compile_pipeline(config, pipeline_args, args.image, args.pipeline_root,
                                      args.output)
    print(f"wrote the Vertex AI pipeline spec to {written}")
    if config.model.require_warm_start:
        print(f"note: model.require_warm_start is set: on Vertex the Trainer starts from the "
              f"latest model the Evaluator blessed under {args.pipeline_root}, and fails "
              f"(WarmStartError) while there is none of these dimensions; run a pipeline that "
              f"trains one there first (for the seed-continue profile: --profile seed)")
    return 0
