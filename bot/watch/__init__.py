"""Being watched: /healthz and /metrics (`health.py`, `metrics.py`), systemd's readiness and watchdog
(`service_manager.py`), and the one line to each police room after an outage (`outage.py`)."""
