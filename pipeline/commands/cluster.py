"""`arith-tfx cluster`: start, show or stop a local Flink cluster for `run --runner flink`."""
import os

from pipeline.commands.arguments import at_least_one


def _default_cluster_dir() -> str:
    from cluster.config import default_state_dir
    return default_state_dir()


def add(commands) -> None:
    parser = commands.add_parser(
        "cluster", help="start, show or stop a local Flink cluster for `run --runner flink`")
    parser.add_argument("action", choices=("up", "status", "down"))
    parser.add_argument("--state-dir", default=_default_cluster_dir(),
                        help="where the cluster keeps its configuration, logs and process "
                             "records (default: $ARITH_TFX_CLUSTER or %(default)s)")
    parser.add_argument("--task-managers", type=at_least_one, default=1,
                        help="Flink TaskManager processes (up; default: %(default)s)")
    parser.add_argument("--slots", type=at_least_one, default=1,
                        help="task slots per TaskManager (up; default: %(default)s)")
    parser.add_argument("--sdk-workers", choices=("process", "thread"), default="process",
                        help="up: a Python process per SDK worker (default), or threads of one "
                             "process that imports TensorFlow once for all jobs (small data)")
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    from cluster import flink_cluster
    from cluster.config import ClusterConfig
    config = ClusterConfig(state_dir=os.path.abspath(args.state_dir),
                           task_managers=args.task_managers, slots_per_task_manager=args.slots,
                           sdk_workers=args.sdk_workers)
    if args.action == "up":
        flink_cluster.up(config)
    elif args.action == "down":
        flink_cluster.down(config)
    else:
        return 0 if flink_cluster.status(config.state_dir) else 1
    return 0
