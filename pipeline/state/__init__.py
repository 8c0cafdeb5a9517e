"""A root's state: its ML Metadata store, its run lock, the clean-up after a killed run."""
