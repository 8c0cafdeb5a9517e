"""Packaging for arith-tfx; Beam ships it to remote workers with --setup_file."""
import setuptools

setuptools.setup(
    name="arith-tfx",
    version="0.1.0",
    description="A TFX pipeline that teaches a small Transformer elementary symbolic arithmetic.",
    python_requires=">=3.10",
    packages=setuptools.find_packages(
        include=["cluster", "components", "components.*", "modules", "pipeline", "pipeline.*",
                 "schema"]),
    package_data={"schema": ["*.pbtxt"], "cluster": ["flink/pom.xml", "flink/jars.sha256"]},
    install_requires=[
        "tfx==1.16.0",
        "tf-keras==2.16.0",
        "tensorflow==2.16.2",
        "apache-beam[gcp]==2.61.0",
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-timeout", "pytest-xdist", "kfp==2.13.0"],
        # `arith-tfx compile --target vertex`: TFX's KubeflowV2DagRunner needs the KFP SDK.
        "vertex": ["kfp==2.13.0"],
        # bench/serve_load.py --server uvicorn: the ASGI server the hand-written one was measured
        # against (docs/benchmarks.md); the served `arith-tfx serve` does not use it.
        "bench": ["uvicorn", "httptools", "uvloop"],
    },
    entry_points={"console_scripts": ["arith-tfx=pipeline.commands.cli:main"]},
)
