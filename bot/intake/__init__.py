"""What comes in: from a sync batch to handled commands (`inbox.py`), events that could not be decrypted yet
(`undecryptable.py`), and how much one sender can make the bot say (`limits.py`)."""
