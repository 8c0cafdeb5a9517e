"""Where a run keeps its data, artifacts, metadata and served models: all under one root, or
the metadata store, lock and logs under a local root and the data, artifacts and served
models under `artifacts` (an object store such as gs://, which remote Beam workers can read)."""
import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class Paths:
    root: str
    artifacts: str = ""  # default: the root

    @property
    def _artifacts(self) -> str:
        return self.artifacts or self.root

    @property
    def data_root(self) -> str:
        """Generated spans: `span-N/data-*.tfrecord.gz`."""
        return os.path.join(self._artifacts, "data")

    @property
    def pipeline_root(self) -> str:
        """TFX artifacts, one folder per component and execution."""
        return os.path.join(self._artifacts, "pipeline")

    @property
    def metadata_path(self) -> str:
        """The ML Metadata store (SQLite)."""
        return os.path.join(self.root, "metadata.sqlite")

    @property
    def serving_dir(self) -> str:
        """Pushed models in TF Serving's layout: `<version>/saved_model.pb`."""
        return os.path.join(self._artifacts, "serving")

