"""Whether the hub may start with its signing keys as they would be stored.

With ``HUB_KEY_ENCRYPTION_KEY`` the private signing keys are sealed in the database
(``auth.key_wrap``). Without it they are stored in plaintext: fine for development and
the demo, which run as they always have, with one warning at start-up; a hub declared
``HUB_ENV=production`` refuses to start, since anyone with a copy of its database
(a backup) could then sign tokens for every partner.
"""

from __future__ import annotations

import logging

from hub.settings import Settings

log = logging.getLogger("partnerhub.sealing")


class UnsafeConfiguration(RuntimeError):
    """The settings would run a production hub with secrets unprotected."""


def check_at_start(settings: Settings) -> None:
    """Refuse a production hub without a KEK; warn a development one (once per start)."""
    if settings.key_ring() is not None:  # checks the keys, naming what is wrong
        return
    if settings.env == "production":
        raise UnsafeConfiguration(
            "HUB_ENV=production needs HUB_KEY_ENCRYPTION_KEY (32 random bytes, base64): "
            "without it the token signing keys would be stored unencrypted"
        )
    log.warning(
        "signing keys are stored unencrypted: set HUB_KEY_ENCRYPTION_KEY "
        "(32 random bytes, base64) to seal them (required with HUB_ENV=production)"
    )
