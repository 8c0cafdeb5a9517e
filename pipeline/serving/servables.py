"""Loaded model versions: each batches the requests that arrive while it is busy into one call
of `serving_default`; a watcher loads the highest version in the serving directory, as TF
Serving's default version policy does, and switches to it without dropping requests."""
import logging
import queue
import threading
import time
from typing import Dict, List, Optional, Tuple

import tensorflow as tf

from components.atomic_pusher import serving_dir as serving_layout
from modules import serving_contract

log = logging.getLogger("arith-tfx.serve")
RETRY_LOAD_S = 30  # a version that did not load is tried again after this long


class Retired(Exception):
    """The version stopped taking requests (a newer one replaced it); ask the watcher again."""


class _Job:
    def __init__(self, examples: List[bytes]):
        self.examples = examples
        self.answers: List[Dict] = []
        self.error: Optional[Exception] = None
        self.done = threading.Event()


class Servable:
    """One version: the SavedModel's serving signature and the thread that batches calls to it.

    The thread takes the next request and everything queued behind it (up to `max_batch`
    examples; `batch_wait_s` to wait for more): under load, requests that came in during one
    call share the next.
    """

    def __init__(self, version: int, directory: str, max_batch: int = 256,
                 batch_wait_s: float = 0.0):
        self.version = version
        self._max_batch, self._batch_wait_s = max_batch, batch_wait_s
        self._serve = tf.saved_model.load(directory).signatures[serving_contract.SIGNATURE]
        self._call([serving_contract.request("x=1,y=2", "x+y")])  # warm-up before any request
        self._queue: "queue.Queue[Optional[_Job]]" = queue.Queue()
        self._lock = threading.Lock()
        self._retired = False
        self._thread = threading.Thread(target=self._loop, name=f"batcher-{version}", daemon=True)
        self._thread.start()

    def predict(self, examples: List[bytes]) -> List[Dict]:
        """{res, confidence, error} per serialized tf.Example; raises Retired after `retire`."""
        job = _Job(examples)
        with self._lock:
            if self._retired:
                raise Retired(self.version)
            self._queue.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.answers

    def retire(self) -> None:
        """Takes no new requests; those already queued are still answered."""
        with self._lock:
            self._retired = True
            self._queue.put(None)

    def join(self, timeout: Optional[float] = None) -> None:
        self._thread.join(timeout)

    def signature_def(self) -> Dict:
        """The signature's inputs and outputs, as TF Serving's metadata endpoint shows them."""
        def spec(tensor):
            dtype = {"float32": "DT_FLOAT"}.get(tensor.dtype.name, f"DT_{tensor.dtype.name.upper()}")
            return {"dtype": dtype, "tensor_shape": {"dim": [
                {"size": str(-1 if size is None else size)} for size in tensor.shape.as_list()]}}
        _, inputs = self._serve.structured_input_signature
        return {"inputs": {name: spec(t) for name, t in inputs.items()},
                "outputs": {name: spec(t) for name, t in self._serve.structured_outputs.items()},
                "method_name": "tensorflow/serving/predict"}

    def _loop(self) -> None:
        try:
            self._batches()
        finally:  # whatever ended the loop, no request may wait forever
            self._retired = True
            while True:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    self._fail(job)

    def _batches(self) -> None:
        stopping = False
        while not stopping:
            job = self._queue.get()
            if job is None:
                return
            jobs, size = [job], len(job.examples)
            deadline = time.monotonic() + self._batch_wait_s
            while size < self._max_batch:
                try:
                    following = self._queue.get(timeout=max(0.0, deadline - time.monotonic())) \
                        if self._batch_wait_s else self._queue.get_nowait()
                except queue.Empty:
                    break
                if following is None:
                    stopping = True
                    break
                jobs.append(following)
                size += len(following.examples)
            self._answer(jobs)

    def _answer(self, jobs: List[_Job]) -> None:
        try:
            answers = self._call([example for job in jobs for example in job.examples])
        except Exception:  # pylint: disable=broad-except  (one bad request: try each alone)
            if len(jobs) == 1:
                log.exception("version %s failed on a request", self.version)
                self._fail(jobs[0])
                return
            for job in jobs:
                self._answer([job])
            return
        start = 0
        for job in jobs:
            job.answers = answers[start:start + len(job.examples)]
            start += len(job.examples)
            job.done.set()

    def _fail(self, job: _Job) -> None:
        job.error = RuntimeError(f"version {self.version} could not answer the request")
        job.done.set()

    def _call(self, examples: List[bytes]) -> List[Dict]:
        outputs = self._serve(**{serving_contract.INPUT: tf.constant(examples)})
        answers = serving_contract.answers(outputs)
        for answer in answers:
            answer[serving_contract.CONFIDENCE] = round(answer[serving_contract.CONFIDENCE], 6)
        return answers


class VersionWatcher:
    """Serves the highest complete version in `serving_dir`, polling for a newer (or, after a
    removal, an older) one every `poll_s` seconds. The current version keeps answering while
    the next one loads; requests that reached it before the switch are answered by it."""

    def __init__(self, serving_dir: str, poll_s: float = 1.0, **servable_args):
        self.serving_dir = serving_dir
        self._poll_s = poll_s
        self._servable_args = servable_args
        self._current: Optional[Servable] = None
        self._failed: Dict[int, Tuple[float, str]] = {}  # version -> (when, why) it did not load
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    @property
    def current(self) -> Optional[Servable]:
        return self._current

    def poll(self) -> None:
        """Loads and switches to the highest version if it is not the one served."""
        available = serving_layout.versions(self.serving_dir)
        if not available:
            return
        latest = available[-1]
        if self._current is not None and self._current.version == latest:
            return
        if latest in self._failed and time.monotonic() - self._failed[latest][0] < RETRY_LOAD_S:
            return
        directory = f"{self.serving_dir.rstrip('/')}/{latest}"
        started = time.perf_counter()
        try:
            servable = Servable(latest, directory, **self._servable_args)
        except Exception as error:  # pylint: disable=broad-except
            reason = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
            self._failed[latest] = (time.monotonic(), reason)
            log.error("version %s did not load (retried in %d s), still serving %s: %s",
                      latest, RETRY_LOAD_S,
                      self._current.version if self._current else "nothing", reason)
            return
        self._failed.pop(latest, None)
        previous, self._current = self._current, servable
        log.info("serving version %s (loaded in %.1f s)%s", latest,
                 time.perf_counter() - started,
                 f"; version {previous.version} retired" if previous else "")
        if previous is not None:
            previous.retire()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="version-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        current, self._current = self._current, None
        if current is not None:
            current.retire()
            current.join(timeout=30)

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                self.poll()
            except Exception:  # pylint: disable=broad-except  (e.g. the folder went away)
                log.exception("could not poll %s", self.serving_dir)

    def predict(self, examples: List[bytes], version: Optional[int] = None):
        """(answers, version that answered). Raises LookupError when nothing (or not the asked
        version) is served."""
        while True:
            servable = self._current
            if servable is None:
                raise LookupError(f"no version of the model is loaded yet: nothing pushed to "
                                  f"{self.serving_dir}")
            if version is not None and version != servable.version:
                raise LookupError(f"version {version} is not served; like TF Serving's default "
                                  f"version policy, this server serves the latest version only "
                                  f"({servable.version})")
            try:
                return servable.predict(examples), servable.version
            except Retired:
                if self._current is servable:
                    raise LookupError("the server is stopping") from None
                continue  # switched under us: the new version answers
