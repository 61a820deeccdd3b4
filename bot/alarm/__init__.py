"""The alarm lifecycle: the pure state machine, its texts and figures, and the service that stores it."""
