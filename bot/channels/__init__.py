"""Every way a message leaves: the outbox and its one send loop (order per target, failure classes, delivery
deadlines), the channels behind one interface (`channel.py`: Matrix, SMS in `sms/`), and the read receipts of pages
(`seen.py`)."""
