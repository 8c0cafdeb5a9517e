"""What a root's statistics, runs and pushed models say: on the terminal, and as an HTML page."""
