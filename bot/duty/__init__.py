"""Who is on duty: the roster in force (`live.py`), putting a changed roster folder in force or refusing it
(`reload.py`), and leave made in the browser (`leave.py`)."""
