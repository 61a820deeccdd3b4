"""The Matrix boundary: nio, end-to-end encryption, cross-signing. Nothing outside this package imports nio."""
