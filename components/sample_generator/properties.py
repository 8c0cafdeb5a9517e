"""The generator's output artifact, by name, for readers that import no TensorFlow (lineage):
its type and its custom properties. Kubeflow V2 (Vertex) compiles custom artifact types only
with a namespaced name and no declared properties, hence custom properties."""
TYPE_NAME = "arith_tfx.ArithmeticSamples"
# Every name the type has had: metadata stores keep the artifacts of older runs under theirs.
TYPE_NAMES = (TYPE_NAME, "ArithmeticSamples")
INT_FIELDS = ("span", "seed", "num_samples", "num_shards", "max_val")
STRING_FIELDS = ("ops", "draw", "op_weights", "data_dir")
FLOAT_FIELDS = ("ends_share", "cancel_share")
