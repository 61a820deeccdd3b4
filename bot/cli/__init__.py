"""The `jourbot` command line."""
