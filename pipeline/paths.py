"""Where a run keeps its data, artifacts, metadata and served models: all under one root, or
the metadata store, lock and logs under a local root and the data, artifacts and served
models under `artifacts` (an object store such as gs://, which remote Beam workers can read)."""
import dataclasses
import os

# Under the root: where its artifacts live when they are not under it (`run --artifact-root`).
ARTIFACT_ROOT_FILE = "artifact-root"


@dataclasses.dataclass(frozen=True)
class Paths:
    root: str
    artifacts: str = ""  # default: the root

    @classmethod
    def at(cls, root: str, artifacts: str = "") -> "Paths":
        """The paths of a root, with the artifact root it was first run with (recorded there),
        unless `artifacts` is given; a different one than recorded is refused."""
        recorded = ""
        try:
            with open(os.path.join(root, ARTIFACT_ROOT_FILE)) as record:
                recorded = record.read().strip()
        except FileNotFoundError:
            pass
        if artifacts and recorded and artifacts.rstrip("/") != recorded:
            raise ValueError(f"{root} keeps its data and artifacts at {recorded}, not "
                             f"{artifacts}: use that --artifact-root, or another --root")
        return cls(root, (artifacts or recorded).rstrip("/"))

    def record_artifact_root(self) -> None:
        if self.artifacts:
            os.makedirs(self.root, exist_ok=True)
            with open(os.path.join(self.root, ARTIFACT_ROOT_FILE), "w") as record:
                record.write(self.artifacts + "\n")

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

