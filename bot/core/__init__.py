"""The words everyone shares, at the bottom of bot/: effects, alarm ids, roles, the phases and decisions, the figures,
the desks (typed Protocols) handlers reach the runtime through, and every user-facing text (i18n with its catalogs).

It imports only itself, rosters/ and the standard library, so handlers/ can depend on it and nothing else of bot/.
Nothing is re-exported here: import each word from the module that defines it.
"""
