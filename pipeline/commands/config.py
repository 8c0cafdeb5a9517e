"""`arith-tfx config`: the resolved configuration, one `section.key = value` a line."""
from modules import config as config_lib
from pipeline.commands.arguments import add_config_args


def add(commands) -> None:
    parser = commands.add_parser("config", help="print the resolved configuration")
    add_config_args(parser)
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    config = config_lib.from_args(args.profile, args.overrides)
    for section in config_lib.SECTIONS:
        for key, value in vars(getattr(config, section)).items():
            print(f"{section}.{key} = {','.join(value) if isinstance(value, tuple) else value}")
    return 0
