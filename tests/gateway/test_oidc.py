"""Production identity: tokens of an external OpenID Connect provider, verified by its JWKS (RS256)."""
from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def serve_jwks(public_jwk: dict) -> tuple[ThreadingHTTPServer, str]:
    """A JWKS endpoint on loopback, as an identity provider publishes it."""
    body = json.dumps({"keys": [public_jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"


def test_a_gateway_configured_with_a_jwks_url_accepts_the_providers_tokens(system):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": "provider-key-1", "use": "sig", "alg": "RS256"})
    server, url = serve_jwks(public)
    gateway = system.spawn("gateway", GATEWAY_OIDC_JWKS_URL=url)
    try:
        now = int(time.time())
        claims = {"sub": "oidc-admin", "role": "admin", "iss": "fundflow", "aud": "fundflow-api", "iat": now,
                  "exp": now + 300, "jti": uuid.uuid4().hex}
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "provider-key-1"})
        accepted = httpx.get(f"{gateway.url}/auth/users", headers={"Authorization": f"Bearer {token}"})
        assert accepted.status_code == 200, accepted.text
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "provider-key-1"})
        refused = httpx.get(f"{gateway.url}/auth/users", headers={"Authorization": f"Bearer {forged}"})
        assert refused.status_code == 401
    finally:
        gateway.stop()
        server.shutdown()
