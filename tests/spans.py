"""Spans written by hand for tests."""
import json
import os

from components.sample_generator import parameters, samples, span_writer


def write_damaged_span(data_root, generator, rows):
    """A span whose manifest says the generator wrote it (so the generator reuses it), but
    whose rows are `rows`: as if it had been damaged on disk."""
    import tensorflow as tf
    directory = span_writer.span_dir(data_root, generator.span)
    os.makedirs(directory)
    with open(os.path.join(directory, span_writer.MANIFEST), "w") as f:
        json.dump({"parameters": parameters.manifest_record(generator)}, f)
    with tf.io.TFRecordWriter(os.path.join(directory, "data-00000-of-00001.tfrecord.gz"),
                              options="GZIP") as writer:
        for row in rows:
            writer.write(samples.to_example(row))


def rows_with_two_bad(count=60):
    """`count` rows of `+`, two of them with characters outside the schema."""
    good = samples.generate(count, 9, ("+",), samples.shard_rng(5, 0))
    return good[2:] + [good[0]._replace(defs="x=3,y=4?"), good[1]._replace(res="1/2")]
