"""`arith-tfx serve`: TF Serving's REST API for the pushed models."""
