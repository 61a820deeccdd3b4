"""Readiness before the shift: who cannot be reached and why (`assess.py`), the daily report to the supervisors
(`report.py`), and the shift check-ins (`checkins.py`)."""
