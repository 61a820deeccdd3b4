"""Test access to the throwaway homeserver.

API: `Synapse(workdir: Path, python: Path)`; `.start()`, `.stop()`, `.url`, `.port`, `.register(localpart, password,
admin=False) -> user_id`. `synapse_python(repo_root)` gives the Synapse virtualenv's interpreter. The session fixture
`synapse` in tests/conftest.py starts one per test session.
"""

from bot.cli.devserver import SERVER_NAME, Synapse, free_port, synapse_python

PASSWORD = "test-password-not-secret"  # of every test account on the throwaway homeserver

__all__ = ["PASSWORD", "SERVER_NAME", "Synapse", "free_port", "synapse_python"]
