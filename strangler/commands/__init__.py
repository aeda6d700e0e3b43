"""One module per group of commands; `strangler.cli` assembles them."""
