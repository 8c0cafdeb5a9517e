"""`arith-tfx generate`: a span of samples written with Beam, outside TFX."""
import os
import time

from modules import config as config_lib


def add(commands) -> None:
    parser = commands.add_parser("generate", help="write a span of samples, outside TFX")
    defaults = config_lib.GeneratorConfig()
    parser.add_argument("--samples", type=int, default=defaults.samples)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--shards", type=int, default=defaults.shards)
    parser.add_argument("--max-val", type=int, default=defaults.max_val,
                        help="operands are uniform in [-max_val, max_val]")
    parser.add_argument("--ops", default=",".join(defaults.ops),
                        help="comma-separated subset of + - * (default: %(default)s)")
    parser.add_argument("--draw", default=defaults.draw,
                        help="operands uniform by value (default), or their digit count "
                             "uniform first (digits), or each operand one way or the other "
                             "(mixed); or one of these per operator of --ops, comma-separated")
    parser.add_argument("--op-weights", default="",
                        help="relative weight of each of --ops, comma-separated (default: "
                             "equally likely)")
    parser.add_argument("--ends-share", type=float, default=defaults.ends_share,
                        help="share of the operands drawn by digit count that are set to "
                             "-max_val or max_val (default: %(default)s)")
    parser.add_argument("--cancel-share", type=float, default=defaults.cancel_share,
                        help="share of the + and - samples whose result is drawn by digit "
                             "count: near-cancelling operands (default: %(default)s)")
    parser.add_argument("--span", type=int, default=defaults.span,
                        help="span number (default: the next one under OUT)")
    parser.add_argument("--out", required=True, help="data root; shards go to OUT/span-N/")
    parser.add_argument("--workers", type=int, default=0,
                        help="Beam worker processes (default: one per core)")
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from components.sample_generator import span_writer
    from pipeline import beam_args

    generator = config_lib.GeneratorConfig(
        samples=args.samples, seed=args.seed, shards=args.shards, max_val=args.max_val,
        ops=tuple(args.ops.split(",")), draw=args.draw,
        op_weights=config_lib.parse_value("generator.op_weights", args.op_weights),
        ends_share=args.ends_share, cancel_share=args.cancel_share,
        span=args.span or span_writer.next_span(os.path.abspath(args.out)))
    config_lib.validate_generator(generator)
    options = PipelineOptions(beam_args.local_beam_args(args.workers))
    started = time.time()
    print(f"arith-tfx: generating {generator.samples} samples in {generator.shards} shards "
          f"with {args.workers or os.cpu_count()} workers ...", flush=True)
    manifest, reused = span_writer.write_span(generator, os.path.abspath(args.out),
                                              lambda: beam.Pipeline(options=options))
    elapsed = time.time() - started
    where = span_writer.span_dir(os.path.abspath(args.out), generator.span)
    if reused:
        print(f"arith-tfx: {where} already holds these samples; nothing written")
    else:
        print(f"arith-tfx: wrote {generator.samples} samples to {where} in {elapsed:.1f} s "
              f"({generator.samples / elapsed:,.0f} samples/s)")
    return 0
