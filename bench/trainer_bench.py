"""Benchmark: training examples/s of the TFX Trainer versus the same model fitted outside TFX
on the same transformed examples held in memory."""
import argparse
import glob
import json
import math
import os
import platform
import subprocess
import sys
import tempfile


def _latest(folder: str) -> str:
    return os.path.join(folder, max(os.listdir(folder), key=int))


def trainer_throughput(root: str, overrides) -> float:
    """Runs the pipeline through the Trainer and reads the Trainer's own measurement."""
    command = [os.path.join(os.path.dirname(sys.executable), "arith-tfx"), "run", "--root", root,
               "--stage", "train"] + [arg for item in overrides for arg in ("--set", item)]
    subprocess.run(command, check=True)
    run_dir = _latest(os.path.join(root, "pipeline", "Trainer", "model_run"))
    with open(os.path.join(run_dir, "throughput.json")) as f:
        return json.load(f)["examples_per_second"]


def in_memory_throughput(root: str, config) -> float:
    """The same model and schedule, fitted on the Transform output cached in memory."""
    import tensorflow_transform as tft
    from tfx_bsl.public import tfxio

    from modules import model as model_lib, throughput, trainer

    transform_graph = _latest(os.path.join(root, "pipeline", "Transform", "transform_graph"))
    examples = _latest(os.path.join(root, "pipeline", "Transform", "transformed_examples"))
    tft_output = tft.TFTransformOutput(transform_graph)
    files = glob.glob(os.path.join(examples, "Split-train", "*"))
    epochs = trainer.epochs_for(config.train_steps)
    steps_per_epoch = math.ceil(config.train_steps / epochs)
    dataset = tfxio.TFExampleRecord(
        file_pattern=files, schema=tft_output.transformed_metadata.schema
    ).TensorFlowDataset(tfxio.TensorFlowDatasetOptions(
        batch_size=config.dim_batch, drop_final_batch=True, num_epochs=None, shuffle=True))
    dataset = dataset.map(trainer.model_inputs(config)).take(steps_per_epoch).cache().repeat()
    for _ in dataset.take(steps_per_epoch):  # fills the cache before timing
        pass
    model = model_lib.build_model(config)
    meter = throughput.Throughput(config.dim_batch, steps_per_epoch)
    model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=[meter],
              verbose=0)
    return meter.examples_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--set", dest="overrides", action="append",
                        default=["model.train_steps=400", "model.eval_steps=10"])
    parser.add_argument("--root", default="")
    args = parser.parse_args()
    from modules import config as config_lib
    config = config_lib.from_args(args.profile, args.overrides)
    root = args.root or tempfile.mkdtemp(prefix="arith-trainer-bench-")
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores; profile {args.profile}, "
          f"overrides {args.overrides}; root {root}")
    tfx_rate = trainer_throughput(root, args.overrides)
    memory_rate = in_memory_throughput(root, config.model)
    print(f"TFX Trainer:          {tfx_rate:,.0f} examples/s")
    print(f"outside TFX, in RAM:  {memory_rate:,.0f} examples/s")
    print(f"ratio:                {tfx_rate / memory_rate:.2f}")


if __name__ == "__main__":
    main()
