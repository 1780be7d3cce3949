"""Verifies a Machina access token with PyJWT, knowing only the JWKS URL.

usage: verify.py JWKS_URL ISSUER AUDIENCE TOKEN
Prints the verified claims as JSON; exits 1 with the reason when verification fails.
"""
import json
import sys

import jwt

jwks_url, issuer, audience, token = sys.argv[1:5]
try:
    client = jwt.PyJWKClient(jwks_url)
    key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["EdDSA"],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]},
    )
except Exception as exc:  # noqa: BLE001 - the test reads the reason
    print(f"REJECTED: {type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(1)
print(json.dumps(claims))
