"""The generator's output artifact type by name, for readers that import no TensorFlow
(lineage). Kubeflow V2 (Vertex) compiles custom artifact types only with a namespaced name and
no declared properties, hence custom properties (parameters.artifact_properties)."""
TYPE_NAME = "arith_tfx.ArithmeticSamples"
# Every name the type has had: metadata stores keep the artifacts of older runs under theirs.
TYPE_NAMES = (TYPE_NAME, "ArithmeticSamples")
