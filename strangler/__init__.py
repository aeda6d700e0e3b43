"""The operator's command line: `strangler --help`."""
