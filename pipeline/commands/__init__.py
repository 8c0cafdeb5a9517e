"""`arith-tfx`: one module per subcommand, its arguments beside its code; cli.py dispatches."""
