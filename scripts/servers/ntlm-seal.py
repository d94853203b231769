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
agree with gss-ntlmssp's. This is not the whole MS-WSMV multipart body,
unless SEAL_FRAMING=wsmv: then a sealed POST is the whole multipart/encrypted
body of MS-WSMV 2.2.9.1, parsed and the answer framed by Debian's pywinrm
(python3-winrm), the framing of a widely used WinRM client.

SEAL_MECH=kerberos accepts Kerberos in SPNEGO instead, with the service key
from the keytab in KRB5_KTNAME (USERS_FILE is then unused), returns the
AP-REP with the 200 that completes the logon, and seals as requests-kerberos'
wrap_winrm does (gss_wrap_iov: header, data, padding); it needs
SEAL_FRAMING=wsmv.
"""
import base64
import os
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gssapi
import gssapi.raw

NTLMSSP = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
BINDING = bytes.fromhex(sys.argv[3]) if len(sys.argv) > 3 else None
WSMV = os.environ.get("SEAL_FRAMING") == "wsmv"
KERBEROS = os.environ.get("SEAL_MECH") == "kerberos"
PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"


class Obj:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class NTLMSecurity:
    """pywinrm's view of NTLM session security, on a gssapi context: the
    16-byte signature apart from the sealed message."""

    def __init__(self, ctx):
        self.ctx = ctx

    def wrap(self, msg):
        tok = self.ctx.wrap(msg, True).message
        return tok[16:], tok[:16]

    def unwrap(self, msg, sig):
        return self.ctx.unwrap(sig + msg).message


class KerberosSecurity:
    """pywinrm's view of a Kerberos context (requests-kerberos'
    wrap_winrm/unwrap_winrm), the header apart from the sealed data."""

    def __init__(self, ctx):
        self.ctx = ctx

    def wrap_winrm(self, host, msg):
        iov = gssapi.raw.IOV(gssapi.raw.IOVBufferType.header, msg, gssapi.raw.IOVBufferType.padding, std_layout=False)
        gssapi.raw.wrap_iov(self.ctx, iov, confidential=True)
        return iov[1].value + (iov[2].value or b""), iov[0].value

    def unwrap_winrm(self, host, msg, header):
        iov = gssapi.raw.IOV((gssapi.raw.IOVBufferType.header, False, header), msg, gssapi.raw.IOVBufferType.data, std_layout=False)
        gssapi.raw.unwrap_iov(self.ctx, iov)
        return iov[1].value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ctx = None  # per connection: the server makes one handler per connection

    def answer(self, status, body=b"", challenge=None, content_type=None):
        self.send_response(status)
        if challenge is not None:
            self.send_header("WWW-Authenticate", challenge)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
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
                    creds = gssapi.Credentials(usage="accept") if KERBEROS else gssapi.Credentials(usage="accept", mechs=[NTLMSSP])
                    cb = gssapi.raw.ChannelBindings(application_data=BINDING) if BINDING is not None else None
                    self.ctx = gssapi.SecurityContext(creds=creds, usage="accept", channel_bindings=cb)
                out = self.ctx.step(base64.b64decode(tok))
                self.final = out
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
        final, self.final = getattr(self, "final", None), None
        if not body:
            self.answer(200, b"ok", challenge="Negotiate " + base64.b64encode(final).decode() if final else None)
            return
        if WSMV:
            self.wsmv(body)
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

    def wsmv(self, body):
        from winrm.encryption import Encryption

        ct = self.headers.get("Content-Type", "")
        if not ct.startswith("multipart/encrypted;") or 'protocol="%s"' % PROTOCOL not in ct:
            self.log_message("not sealed as MS-WSMV: %s", ct)
            self.answer(400, b"not sealed")
            self.close_connection = True
            return
        if KERBEROS:
            enc = Encryption(Obj(auth=KerberosSecurity(self.ctx)), "kerberos")
        else:
            enc = Encryption(Obj(auth=Obj(session_security=NTLMSecurity(self.ctx))), "ntlm")
        try:
            req = Obj(content=body, headers={"Content-Type": ct}, request=Obj(url="http://mail/wsman"))
            msg = enc.parse_encrypted_response(req)
            out = enc._encrypt_message(b"echo:" + msg, "mail") + enc.MIME_BOUNDARY + b"--\r\n"
        except Exception as e:  # pywinrm raises WinRMError, ValueError, IndexError on a bad frame
            self.log_message("unseal failed: %r", e)
            self.answer(400, b"unseal failed")
            self.close_connection = True
            return
        self.answer(200, out, content_type='multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % PROTOCOL)


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
