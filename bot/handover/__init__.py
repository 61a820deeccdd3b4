"""The handover to the district office: alarms handled while it was closed, listed at its next opening."""
