"""Who may make the bot act and who may read what it sends: the senders of commands, the identities pinned for
people, and the rooms the bot owns (docs/design.md, "Encryption and trust")."""
