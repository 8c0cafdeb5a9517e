"""The curated data schema, shipped as package data."""
import os

CURATED_SCHEMA = os.path.join(os.path.dirname(__file__), "schema.pbtxt")
