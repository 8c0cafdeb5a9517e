"""`arith-tfx generate`: a span of samples written with Beam, outside TFX."""
import argparse
import dataclasses
import os
import time

from components.sample_generator import parameters
from modules import config as config_lib


# Each GeneratorConfig field is a flag (max_val as --max-val), parsed as `--set generator.*`
# is; what each does is said beside the field in modules/config.py, briefly here.
HELP = {
    "samples": "samples in the span",
    "seed": "the draw's seed: the same seed, span and parameters write the same bytes",
    "shards": "files the span is written in",
    "max_val": "operands lie in [-max_val, max_val]",
    "ops": "comma-separated subset of + - *",
    "draw": "operands uniform by value, or their digit count uniform first (digits), or "
            "each operand one way or the other (mixed), or digit counts as likely as their "
            "size (longer); or one of these per operator of --ops, comma-separated",
    "op_weights": "relative weight of each of --ops, comma-separated; empty: equally likely",
    "ends_share": "share of the operands drawn by digit count that are set to -max_val or "
                  "max_val",
    "cancel_share": "share of the + and - samples whose result is drawn by digit count: "
                    "near-cancelling operands",
    "cancel_x_draw": "how x of those near-cancelling samples is drawn (a --draw name); empty: "
                     "as its operator's draw",
    "span": "span number; 0: the next one under OUT",
}


def add(commands) -> None:
    parser = commands.add_parser("generate", help="write a span of samples, outside TFX")
    defaults = parameters.to_exec_properties(config_lib.GeneratorConfig())
    for name, default in defaults.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=str(default),
                            type=_parser(name), metavar=name.upper(),
                            help=f"{HELP.get(name, f'generator.{name}')} "
                                 f"(default: {default if default != '' else 'none'})")
    parser.add_argument("--out", required=True, help="data root; shards go to OUT/span-N/")
    parser.add_argument("--workers", type=int, default=0,
                        help="Beam worker processes (default: one per core)")
    parser.set_defaults(handler=handle)


def _parser(name: str):
    def parse(text: str):
        try:
            return config_lib.parse_value(f"generator.{name}", text)
        except config_lib.ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return parse


def handle(args) -> int:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from components.sample_generator import span_writer
    from pipeline import beam_args

    generator = config_lib.GeneratorConfig(**{
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(config_lib.GeneratorConfig)})
    generator = dataclasses.replace(
        generator, span=generator.span or span_writer.next_span(os.path.abspath(args.out)))
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
