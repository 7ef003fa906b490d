"""`exmado` sub-commands, one module per group; each has `register(subparsers)`."""
