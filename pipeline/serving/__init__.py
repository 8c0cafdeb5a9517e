"""The pushed models: their versions (list, keep, roll back), `predict` and `serve`'s REST API."""
