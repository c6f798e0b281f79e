"""Secrets at rest: the hub's key-encryption key from its settings, and the start-up
check that a production hub has one (``at_rest``); the sealing itself is
``auth.key_wrap``'s."""
