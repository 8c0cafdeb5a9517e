"""The pipeline: its definition and runners (the files here), a root's state (state/), the reports
on it (reports/), the pushed models (serving/) and the `arith-tfx` commands (commands/)."""
