"""One module per ``bagscan`` subcommand; each defines ``register(subparsers)``."""
