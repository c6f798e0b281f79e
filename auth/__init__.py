"""OAuth 2.0 for the hub: the token endpoint (client credentials for systems,
authorization code with PKCE for people), signing keys, and verification of bearer
tokens into principals.

Kept import-free on purpose: ``graph`` imports ``auth.principal`` and must not pull
in authlib, httpx or SQLAlchemy by doing so. The parts, each its own module:

- ``auth.config``: ``AuthConfig``, ``TrustedIssuer``
- ``auth.store``: ``AuthStore`` (clients, signing keys; ``auth_metadata``)
- ``auth.service``: ``AuthService``, the object the hub holds
- ``auth.routes``: ``auth_routes(service)``
- ``auth.middleware``: ``BearerAuthMiddleware``, ``require_scope``, ``requires_scope``
- ``auth.verify``: ``TokenVerifier``, ``InvalidToken``
- ``auth.claims``: the token format
- people's sign-in (authorization code + PKCE): ``auth.authorize`` (the form, with
  ``auth.signin_page``), ``auth.person_grants`` (code and refresh grants),
  ``auth.revocation`` (sign-out), ``auth.users`` and ``auth.passwords`` (argon2id),
  ``auth.public_clients``, ``auth.signin_sessions``, ``auth.signin_tables``,
  ``auth.oidc_login`` (sign-in at an organization's OpenID Connect provider)

Imports nothing of the other packages. It defines its tables (``auth_metadata``) but
not the migration runner: whoever assembles a store hands it one (``SchemaMigrator``).
"""
