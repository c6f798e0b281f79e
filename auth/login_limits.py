"""How fast a caller may try to authenticate: the token endpoint and the sign-in form.

Every check of a client secret (scrypt, ``auth.secret_hash``) or a person's password
(argon2id, ``auth.passwords``) costs tens of milliseconds of CPU and megabytes of
memory, on purpose. Unthrottled, a flood of wrong secrets from one address spends the
hub's CPU on hashes. So the guard answers before any hash:

* every request to ``POST /oauth/token`` counts against its remote address
  (``token_per_address``) and, when it names a client id, against that client id
  (``token_per_client``);
* every failed client authentication counts against the address and the client id
  (``token_failures``, over ``failure window``); once either is spent, further
  requests are refused **before** the secret is hashed, until the window ends;
* the sign-in form (``POST /oauth/authorize``) likewise: attempts per address
  (``signin_per_address``), and failed passwords per address and per account
  (``signin_failures``), checked before argon2 runs.

An attempt counts as a failure from the moment it is let through, and is given back
when it turns out not to be one: so a burst of concurrent wrong secrets, all let in
before the first has been hashed, still gets no more hashes than the failure limit.

A refusal is HTTP 429 with ``Retry-After`` (seconds). The per-account limit lets
someone who knows an e-mail keep its owner out for a failure window; a per-address
limit alone would let a botnet guess one account's password, and the window is short.

Counts are per hub process (``auth.rate_limits``).
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.rate_limits import Ask, Rate, RateLimits, Refused

TOKEN_ADDRESS = "token_address"
TOKEN_CLIENT = "token_client"
TOKEN_FAILURES_ADDRESS = "token_failures_address"
TOKEN_FAILURES_CLIENT = "token_failures_client"
SIGNIN_ADDRESS = "signin_address"
SIGNIN_FAILURES_ADDRESS = "signin_failures_address"
SIGNIN_FAILURES_ACCOUNT = "signin_failures_account"


PER_MINUTE, FAILURE_WINDOW = 60, 900
TOKENS_PER_ADDRESS = Rate(300, PER_MINUTE)
TOKENS_PER_CLIENT = Rate(60, PER_MINUTE)
TOKEN_FAILURES = Rate(20, FAILURE_WINDOW)
SIGNINS_PER_ADDRESS = Rate(60, PER_MINUTE)
SIGNIN_FAILURES = Rate(10, FAILURE_WINDOW)


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """The rates, each None (or an amount of 0) to turn it off. Generous defaults: a
    partner's system asks a token every few minutes, a person signs in a few times a day."""

    token_per_address: Rate | None = TOKENS_PER_ADDRESS
    token_per_client: Rate | None = TOKENS_PER_CLIENT
    token_failures: Rate | None = TOKEN_FAILURES
    signin_per_address: Rate | None = SIGNINS_PER_ADDRESS
    signin_failures: Rate | None = SIGNIN_FAILURES


class LoginGuard:
    def __init__(self, limits: LoginLimits | None = None) -> None:
        limits = limits or LoginLimits()
        self.limits = RateLimits(
            {
                TOKEN_ADDRESS: limits.token_per_address,
                TOKEN_CLIENT: limits.token_per_client,
                TOKEN_FAILURES_ADDRESS: limits.token_failures,
                TOKEN_FAILURES_CLIENT: limits.token_failures,
                SIGNIN_ADDRESS: limits.signin_per_address,
                SIGNIN_FAILURES_ADDRESS: limits.signin_failures,
                SIGNIN_FAILURES_ACCOUNT: limits.signin_failures,
            }
        )

    def before_token(self, address: str, client_id: str | None) -> Refused | None:
        """Refused, or the request counted (and, until ``token_not_failed``, its
        failure too): before anything is hashed."""
        return self.limits.spend(
            *self._token_failures(address, client_id),
            Ask(TOKEN_ADDRESS, address),
            *([Ask(TOKEN_CLIENT, client_id)] if client_id is not None else []),
        )

    def token_not_failed(self, address: str, client_id: str | None) -> None:
        """The request let through did not fail authentication: not a failure after all."""
        self.limits.refund(*self._token_failures(address, client_id))

    def before_signin(self, address: str, email: str) -> Refused | None:
        """Refused, or the attempt counted (and its failure, until ``signin_not_failed``)."""
        return self.limits.spend(
            *self._signin_failures(address, email), Ask(SIGNIN_ADDRESS, address)
        )

    def signin_not_failed(self, address: str, email: str) -> None:
        self.limits.refund(*self._signin_failures(address, email))

    @staticmethod
    def _token_failures(address: str, client_id: str | None) -> list[Ask]:
        failures = [Ask(TOKEN_FAILURES_ADDRESS, address)]
        if client_id is not None:
            failures.append(Ask(TOKEN_FAILURES_CLIENT, client_id))
        return failures

    @staticmethod
    def _signin_failures(address: str, email: str) -> list[Ask]:
        account = _account(email)
        return [Ask(SIGNIN_FAILURES_ADDRESS, address), Ask(SIGNIN_FAILURES_ACCOUNT, account)]


def _account(email: str) -> str:
    # As the user store finds it: e-mails compare without case or surrounding spaces.
    return email.strip().lower()
