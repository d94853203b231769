"""An NTLM acceptor over HTTP whose NTLM is gss-ntlmssp's, through
python3-gssapi: the real implementation checks exdiag's logon (NTProofStr,
MIC, the channel binding when one is required) and its sealing.

    ntlm-seal.py PORT USERS_FILE [APPLICATION_DATA_HEX]

USERS_FILE holds DOMAIN:USER:PASSWORD lines (read by gss-ntlmssp through
NTLM_USER_FILE, which the caller sets). With APPLICATION_DATA_HEX, the
logon must carry that channel binding (as Extended Protection requires),
else it is refused with 401.

One security context per connection (NTLM authenticates the connection).
POST with an Authorization header steps the context; once established, a
POST body is one sealed message, framed as MS-WSMV frames the encrypted
part (a uint32 little-endian signature length, 16, the signature, the
sealed bytes), and the answer is "echo:" and the message, sealed the same
way: proof that both directions' keys, RC4 streams and sequence numbers
agree with gss-ntlmssp's. This is not the whole MS-WSMV multipart body.
"""
import base64
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gssapi
import gssapi.raw

NTLMSSP = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
BINDING = bytes.fromhex(sys.argv[3]) if len(sys.argv) > 3 else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ctx = None  # per connection: the server makes one handler per connection

    def answer(self, status, body=b"", challenge=None):
        self.send_response(status)
        if challenge is not None:
            self.send_header("WWW-Authenticate", challenge)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n > 1 << 20:
            self.answer(413)
            self.close_connection = True
            return
        body = self.rfile.read(n)
        auth = self.headers.get("Authorization")
        if auth:
            scheme, _, tok = auth.partition(" ")
            try:
                if self.ctx is None:
                    creds = gssapi.Credentials(usage="accept", mechs=[NTLMSSP])
                    cb = gssapi.raw.ChannelBindings(application_data=BINDING) if BINDING is not None else None
                    self.ctx = gssapi.SecurityContext(creds=creds, usage="accept", channel_bindings=cb)
                out = self.ctx.step(base64.b64decode(tok))
            except gssapi.exceptions.GSSError as e:
                self.log_message("logon refused: %s", e)
                self.ctx = None
                self.answer(401, challenge=scheme)
                return
            if not self.ctx.complete:
                self.answer(401, challenge=scheme + " " + base64.b64encode(out).decode())
                return
        if self.ctx is None or not self.ctx.complete:
            self.answer(401, challenge="Negotiate")
            return
        if not body:
            self.answer(200, b"ok")
            return
        try:
            (siglen,) = struct.unpack("<I", body[:4])
            if siglen != 16:
                raise ValueError("signature length %d" % siglen)
            msg = self.ctx.unwrap(body[4:]).message
            sealed = self.ctx.wrap(b"echo:" + msg, True).message
        except (gssapi.exceptions.GSSError, ValueError, struct.error) as e:
            self.log_message("unwrap failed: %s", e)
            self.answer(400, b"unwrap failed")
            self.close_connection = True
            return
        self.answer(200, struct.pack("<I", 16) + sealed)


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
