"""An MS-WSMV message-encryption peer whose sealing is gss-ntlmssp's or
MIT krb5's (through python3-gssapi) and whose framing is pywinrm's
(Debian's python3-winrm): the multipart/encrypted body of MS-WSMV
2.2.9.1 exactly as a widely used WinRM client reads and writes it.

    wsmv-seal.py PORT USERS_FILE     NTLM, users read by gss-ntlmssp
                                     through NTLM_USER_FILE
    wsmv-seal.py PORT --kerberos     Kerberos in SPNEGO, the service key
                                     from the keytab in KRB5_KTNAME

One context per connection; the server's last token (Kerberos' AP-REP)
goes back with the 200 that completes it. Once established, an empty
POST is the handshake's (200 "ok"); any other POST must be
pywinrm-parsable multipart/encrypted with the SPNEGO protocol, and is
answered "echo:" and its plaintext, framed by pywinrm.
"""
import base64
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gssapi
from gssapi.raw import IOV, IOVBufferType, unwrap_iov, wrap_iov
from winrm.encryption import Encryption

NTLMSSP = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
KERBEROS = len(sys.argv) > 2 and sys.argv[2] == "--kerberos"
SIG = 16  # an NTLM signature: what gss-ntlmssp's wrap token starts with


class Security:
    """pywinrm's view of NTLM session security, on a gssapi context."""

    def __init__(self, ctx):
        self.ctx = ctx

    def wrap(self, msg):
        tok = self.ctx.wrap(msg, True).message
        return tok[SIG:], tok[:SIG]

    def unwrap(self, msg, sig):
        return self.ctx.unwrap(sig + msg).message


class KerberosSecurity:
    """pywinrm's view of a Kerberos context (requests-kerberos'
    wrap_winrm/unwrap_winrm): RFC 4121 wrap tokens as gss_wrap_iov lays
    them out for WinRM, the header apart from the sealed data."""

    def __init__(self, ctx):
        self.ctx = ctx

    def wrap_winrm(self, host, msg):
        iov = IOV(IOVBufferType.header, msg, IOVBufferType.padding, std_layout=False)
        wrap_iov(self.ctx, iov, confidential=True)
        return iov[1].value + (iov[2].value or b""), iov[0].value

    def unwrap_winrm(self, host, msg, header):
        iov = IOV((IOVBufferType.header, False, header), msg, IOVBufferType.data, std_layout=False)
        unwrap_iov(self.ctx, iov)
        return iov[1].value


class Obj:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ctx = None

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
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
                    self.ctx = gssapi.SecurityContext(creds=creds, usage="accept")
                out = self.ctx.step(base64.b64decode(tok))
                self.final = out
            except gssapi.exceptions.GSSError as e:
                self.log_message("logon refused: %s", e)
                self.ctx = None
                self.answer(401, headers=[("WWW-Authenticate", scheme)])
                return
            if not self.ctx.complete:
                self.answer(401, headers=[("WWW-Authenticate", scheme + " " + base64.b64encode(out).decode())])
                return
        if self.ctx is None or not self.ctx.complete:
            self.answer(401, headers=[("WWW-Authenticate", "Negotiate")])
            return
        final, self.final = getattr(self, "final", None), None
        if not body:
            self.answer(200, b"ok", [("WWW-Authenticate", "Negotiate " + base64.b64encode(final).decode())] if final else [])
            return
        ct = self.headers.get("Content-Type", "")
        if not ct.startswith("multipart/encrypted;") or 'protocol="%s"' % PROTOCOL not in ct:
            self.log_message("not sealed as MS-WSMV: %s", ct)
            self.answer(400, b"not sealed")
            self.close_connection = True
            return
        if KERBEROS:
            enc = Encryption(Obj(auth=KerberosSecurity(self.ctx)), "kerberos")
        else:
            enc = Encryption(Obj(auth=Obj(session_security=Security(self.ctx))), "ntlm")
        try:
            msg = enc.parse_encrypted_response(Obj(content=body, headers={"Content-Type": ct}, request=Obj(url="http://mail/wsman")))
            out = enc._encrypt_message(b"echo:" + msg, "mail") + enc.MIME_BOUNDARY + b"--\r\n"
        except Exception as e:  # pywinrm raises WinRMError, ValueError, IndexError on a bad frame
            self.log_message("unseal failed: %r", e)
            self.answer(400, b"unseal failed")
            self.close_connection = True
            return
        self.answer(200, out, [("Content-Type", 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % PROTOCOL)])


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
