"""The `chatkit` subcommands, one module per area; chatkit.cli assembles them."""
