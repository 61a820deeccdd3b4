"""Every way a message leaves: the outbox (order per target, failure classes, delivery deadlines), the read receipts of
pages (`seen.py`) and the second channel by SMS (`sms/`)."""
