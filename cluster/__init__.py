"""A local cluster of a real engine for the pipeline's Beam steps: Flink's JobManager and
TaskManagers, Beam's Flink job server and a Python SDK worker pool, each its own process.
Nothing here imports the pipeline or TensorFlow; only the worker pool's own process imports
Beam (worker_pool.py)."""
