"""Bearer JWT authentication, roles and tenant scoping.

Tokens carry ``sub`` (who), ``tenant`` (whose data) and ``role`` (one of
:class:`Role`), plus ``exp`` (required). Development uses an HS256 secret;
production uses RS256 with a PEM public key or a JWKS file.

Routes declare what they need with the dependencies built by
:func:`require_roles`; the returned :class:`Principal` scopes every query to
its tenant. A missing or bad token is a 401, a wrong role a 403. Another
tenant's resources are answered with 404 by the services so their existence
does not leak.

``python -m shared.auth.cli --tenant acme --role client --sub svc-1`` mints a
development token (also installed as ``quorum-token``).
"""
