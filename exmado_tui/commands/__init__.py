"""`exmado` sub-commands, a module per group of commands that belong together; each has
`register(subparsers)` (and `register_NAME` for a group `exmado --help` lists apart), which
`cli.REGISTER` calls in the order of that list."""
