"""Model experiments outside TFX: one configuration per run, the same training time for each,
exact match per operation on fresh cases, decoded as serving decodes.

The examples go through the project's own Transform rule (`modules.transform.preprocessing_fn`,
called directly: it has no analyzers), the model is `modules.model.build_model`, and decoding is
`modules.model.decode` followed by `modules.tokens.detokenize`, which is what `serving_default`
returns. Method and results: docs/experiments.md.

    .venv/bin/python bench/model_experiments.py --name "reversed" --set model.reverse_result=true
"""
import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cases  # noqa: E402  (bench/cases.py, beside this script)
from components.sample_generator import parameters  # noqa: E402

OPERATIONS = ("+", "-", "*")


def training_data(config, generator, pool: int, blank_anew: bool, seed: int, mix=None):
    """Batches of model inputs. pool 0: fresh samples throughout (a pool far larger than what
    the run consumes); pool N: N samples cycled in epochs, the masks hashed from each example
    (frozen, as Transform writes them) or, with blank_anew, salted with the epoch."""
    import tensorflow as tf
    from modules import features, trainer, transform

    size = pool or 2_000_000
    from modules.config import draws_per_operator
    ops = mix or generator.ops
    # A draw per operator follows its operator into the mix (`--train-mix +,-,*,*`).
    draw_of = dict(zip(generator.ops, draws_per_operator(generator.draw, generator.ops)))
    # An even mix of the operators (or the mix given), whatever generator.op_weights says.
    options = {**parameters.draw_options(generator), "ops": ops, "op_weights": (),
               "draw": ",".join(draw_of[operator] for operator in ops)}
    defs, op, res = cases.uniform(size, seed=seed, **options)
    custom = {**config.__dict__, transform.MAX_VAL: generator.max_val}

    def preprocess(epoch, batch):
        outputs = transform.preprocessing_fn(batch, custom)
        if blank_anew:
            tgt = tf.RaggedTensor.from_sparse(outputs[features.TGT])
            keys = tf.strings.join([batch[features.DEFS], batch[features.OP], batch[features.RES],
                                    tf.strings.as_string(epoch)], separator=":")
            outputs[features.DEC] = transform.blank(
                tgt, keys, config.full_blank_fraction, config.blanking).to_sparse()
        return outputs

    raw = tf.data.Dataset.from_tensor_slices(
        {features.DEFS: defs, features.OP: op, features.RES: res})
    epochs = tf.data.Dataset.range(1_000_000)
    dataset = epochs.flat_map(lambda epoch: raw.shuffle(min(size, 100_000), seed=seed)
                              .batch(config.dim_batch, drop_remainder=True)
                              .map(lambda batch: preprocess(epoch, batch)))
    return dataset.map(trainer.model_inputs(config),
                       num_parallel_calls=tf.data.AUTOTUNE).prefetch(4)


def time_budget(seconds: float, peak: float, warmup_steps: int, curve_every: float = 0,
                on_curve=None):
    """A callback: warmup over steps, then cosine decay over wall time to 0 when `seconds` are
    up, and a stop there; so every row trains for the same time with a complete schedule.
    With `curve_every`, `on_curve(model, seconds, steps)` runs every that many seconds of
    training, its own time not counted."""
    import math
    import tf_keras

    class TimeBudget(tf_keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started, self.steps, self.paused, self.next_curve = (
                time.perf_counter(), 0, 0.0, curve_every)

        def _trained(self):
            return time.perf_counter() - self.started - self.paused

        def on_train_batch_begin(self, batch, logs=None):
            done = min(self._trained() / seconds, 1.0)
            warm = min(1.0, (self.steps + 1) / max(warmup_steps, 1))
            self.model.optimizer.learning_rate = peak * warm * 0.5 * (1 + math.cos(math.pi * done))

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            self.seconds = self._trained()
            if self.seconds >= seconds:
                self.model.stop_training = True
            elif curve_every and self.seconds >= self.next_curve:
                paused = time.perf_counter()
                on_curve(self.model, self.seconds, self.steps)
                self.paused += time.perf_counter() - paused
                self.next_curve += curve_every
    return TimeBudget()


def exact_match(model, config, max_val, cases):
    """Share of cases whose decoded result, as serving returns it, equals the true result."""
    import numpy as np
    import tensorflow as tf
    from modules import features, model as model_lib, tokens, transform

    defs, op, res = cases
    right = 0
    for start in range(0, len(defs), 1000):
        batch = {features.DEFS: tf.constant(defs[start:start + 1000]),
                 features.OP: tf.constant(op[start:start + 1000])}
        enc = tf.RaggedTensor.from_sparse(
            transform.preprocessing_fn(batch, {**config.__dict__, transform.MAX_VAL: max_val}
                                       )[features.ENC])
        ids, _ = model_lib.decode(model, enc, config.width_dec, config.refine_steps,
                                  config.blanking == "prefix")
        got = tokens.detokenize(ids, config.reverse_result).numpy()
        right += int(np.sum(got == np.array([r.encode() for r in res[start:start + 1000]])))
    return right / len(defs)


def measure(model, m, g, uniform_cases, digit_cases):
    """Exact match per operation on uniform cases, its mean, the one-digit mean, and exact
    match per operation and digit count of the longer operand."""
    per_op, by_digits = {}, {}
    for index, operation in enumerate(OPERATIONS):
        if operation in g.ops:
            per_op[operation] = round(exact_match(model, m, g.max_val, cases.uniform(
                uniform_cases, g.max_val, (operation,), cases.UNIFORM_SEED + index)), 4)
            by_digits[operation] = {
                digits: round(exact_match(model, m, g.max_val, cases.longest(
                    digit_cases, g.max_val, operation, digits, cases.DIGITS_SEED + index)), 4)
                for digits in cases.digit_counts(g.max_val)}
    return {"all": round(sum(per_op.values()) / len(per_op), 4), **per_op,
            "one_digit": round(sum(d[1] for d in by_digits.values()) / len(by_digits), 4),
            "by_digits": by_digits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="the row's name in the results")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--seconds", type=float, default=180.0, help="training time")
    parser.add_argument("--pool", type=int, default=0,
                        help="training samples cycled in epochs (0: fresh samples throughout)")
    parser.add_argument("--blank-anew", action="store_true",
                        help="draw the blanking masks anew each epoch instead of per example")
    parser.add_argument("--eval", type=int, default=500,
                        help="fresh cases per operation, operands uniform in the range")
    parser.add_argument("--eval-digits", type=int, default=300,
                        help="fresh cases per operation and digit count of the longer operand")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train-mix", default="",
                        help="the training samples' operators, repeats weighting them (e.g. "
                             "+,-,*,* draws * half the time); default: generator.ops")
    parser.add_argument("--curve", type=float, default=0,
                        help="also measure (on a fifth of the cases) every this many seconds")
    parser.add_argument("--results", default="bench/results/model_experiments.jsonl")
    args = parser.parse_args()

    from modules import config as config_lib
    config = config_lib.from_args(args.profile, args.overrides)
    m, g = config.model, config.generator
    import tensorflow as tf
    from modules import model as model_lib
    tf.keras.utils.set_random_seed(args.seed)

    mix = tuple(args.train_mix.split(",")) if args.train_mix else None
    data = training_data(m, g, args.pool, args.blank_anew, args.seed, mix)
    model = model_lib.build_model(m, rate=m.learning_rate)
    curve = []

    def on_curve(trained_model, seconds, steps):
        scores = measure(model_lib.for_serving(trained_model, m), m, g,
                         args.eval // 5, args.eval_digits // 5)
        curve.append({"seconds": round(seconds), "steps": steps, **scores})
        print(json.dumps(curve[-1]), flush=True)

    budget = time_budget(args.seconds, m.learning_rate, m.warmup_steps, args.curve, on_curve)
    history = model.fit(data, steps_per_epoch=10**8, epochs=1, verbose=0, callbacks=[budget])
    trained = budget.steps * m.dim_batch
    losses = history.history
    row = {"name": args.name, "overrides": args.overrides, "train_mix": args.train_mix,
           "pool": args.pool,
           "blank_anew": args.blank_anew, "seconds": round(budget.seconds, 1),
           "examples": trained, "examples_per_s": round(trained / budget.seconds),
           # The result's own loss (with a Hints head, `loss` also holds the hints' loss).
           "final_loss": round(float(losses.get("debed_loss", losses["loss"])[-1]), 4)}
    # As the Trainer exports it.
    row.update(measure(model_lib.for_serving(model, m), m, g, args.eval, args.eval_digits))
    if curve:
        row["curve"] = curve
    row["seed"] = args.seed
    row["machine"] = f"{platform.node()} {os.cpu_count()} cores"
    print(json.dumps(row))
    os.makedirs(os.path.dirname(args.results), exist_ok=True)
    with open(args.results, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
