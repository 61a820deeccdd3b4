"""Several instances on one PostgreSQL database: one acts, the others stand by and take over (SPEC, "Availability
beyond one machine"; docs/design.md, "Instances: one acts, the others stand by"; issue 21).

- `role.py`: whether this instance acts — it tries to take the acting lock every second while it stands by, beats
  while it acts, and stops acting at once when it is fenced or loses the database.
- `recent.py`: what a standby synced lately, kept in memory and handed to the inbox at a takeover.
- `repeats.py`: a message another instance may have sent just before it died goes again, marked as a repeat.

On SQLite none of this costs anything: the one process acts from the start, and its sender claims no attempts.
"""
