"""oauth2-key (port 6886): light-oauth2's key service - the public key certificates that verify
the JWTs oauth2-token signs, for a registered client. Endpoint (doc.networknt.com, light-oauth2
key):
  GET /oauth2/key/{keyId}   client credentials in "Authorization: Basic base64(id:secret)";
                            answers the X.509 certificate (PEM, text/plain); keyId 100 is the
                            primary key (tokens are signed with it), 101 the secondary
"""
import os

from lab import TLS_DIR, ApiError, App, Response, authenticate_client, log

H = "c.n.o.k.h."
GET = H + "Oauth2KeyKeyIdGetHandler"
KEYS = {"100": "primary.crt", "101": "secondary.crt"}


def key(req, db):
    client = authenticate_client(req, db)
    kid = req.params["keyId"]
    if kid not in KEYS:
        raise ApiError("ERR12017", kid)
    with open(os.path.join(TLS_DIR, KEYS[kid])) as f:
        pem = f.read()
    log("INFO", GET, "certificate of keyId = %s sent to clientId = %s" % (kid, client["client_id"]))
    return Response(200, pem, ctype="text/plain")


if __name__ == "__main__":
    App("oauth2-key", int(os.environ.get("PORT", "6886")), [
        ("GET", "/oauth2/key/{keyId}", GET, key),
    ]).serve()
