"""One module per `talkbalance` subcommand (see talkbalance.cli.COMMANDS)."""
