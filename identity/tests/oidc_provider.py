"""A small OpenID Connect provider for the tests, served on 127.0.0.1 in a thread: discovery,
authorize (redirects back with a code), token (an RS256 ID token, checking the client secret,
the redirect URI and PKCE) and the JWKS. It stands in for the federal authentication service,
which cannot be reached from here."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class LocalOpenIDProvider:
    def __init__(self, *, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(4)
        self.codes: dict[str, dict] = {}
        self.claims: dict = {}  # what the next login returns
        self.rogue_key = None  # when set, tokens are signed with it instead of the JWKS key
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def settings(self) -> dict:
        return {"OIDC_RP_CLIENT_ID": self.client_id, "OIDC_RP_CLIENT_SECRET": self.client_secret,
                "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.base}/authorize",
                "OIDC_OP_TOKEN_ENDPOINT": f"{self.base}/token",
                "OIDC_OP_USER_ENDPOINT": "", "OIDC_OP_JWKS_ENDPOINT": f"{self.base}/jwks",
                "OIDC_RP_SIGN_ALGO": "RS256"}

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    return self._json(200, {"issuer": provider.base,
                                            "authorization_endpoint": f"{provider.base}/authorize",
                                            "token_endpoint": f"{provider.base}/token",
                                            "jwks_uri": f"{provider.base}/jwks"})
                if url.path == "/jwks":
                    jwk = json.loads(RSAAlgorithm.to_jwk(provider.key.public_key()))
                    jwk.update(kid=provider.kid, alg="RS256", use="sig")
                    return self._json(200, {"keys": [jwk]})
                if url.path == "/authorize":
                    if query.get("client_id") != provider.client_id or "openid" not in query.get(
                            "scope", "").split():
                        return self._json(400, {"error": "invalid_request"})
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = {"nonce": query.get("nonce"),
                                            "redirect_uri": query["redirect_uri"],
                                            "challenge": query.get("code_challenge")}
                    target = query["redirect_uri"] + "?" + urlencode(
                        {"code": code, "state": query["state"]})
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                    return None
                return self._json(404, {"error": "not_found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlparse(self.path).path != "/token":
                    return self._json(404, {"error": "not_found"})
                grant = provider.codes.pop(form.get("code", ""), None)
                if (grant is None or form.get("client_secret") != provider.client_secret
                        or form.get("client_id") != provider.client_id
                        or form.get("redirect_uri") != grant["redirect_uri"]):
                    return self._json(400, {"error": "invalid_grant"})
                if grant["challenge"]:
                    verifier = form.get("code_verifier", "")
                    digest = base64.urlsafe_b64encode(
                        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                    if digest != grant["challenge"]:
                        return self._json(400, {"error": "invalid_grant"})
                now = int(time.time())
                id_token = jwt.encode(
                    {"iss": provider.base, "aud": provider.client_id, "iat": now,
                     "exp": now + 300, "nonce": grant["nonce"], **provider.claims},
                    provider.rogue_key or provider.key, algorithm="RS256",
                    headers={"kid": provider.kid})
                return self._json(200, {"access_token": secrets.token_urlsafe(16),
                                        "token_type": "Bearer", "id_token": id_token,
                                        "expires_in": 300})

        return Handler
