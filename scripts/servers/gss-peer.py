#!/usr/bin/python3
"""A real MIT krb5 GSS-API acceptor (python3-gssapi over libgssapi_krb5)
for scripts/itest/gssapi_test.go: it accepts the client's SPNEGO token
with the keytab in KRB5_KTNAME, then unwraps the client's sealed messages
and seals answers the way pyspnego does for WinRM's multipart/encrypted
(gss_unwrap_iov / gss_wrap_iov with header, data and padding buffers,
the path pyspnego uses against Windows with MIT):

    stdin:  one base64 SPNEGO token            stdout: base64 answer token
    stdin:  "HEADER DATA" (base64, per message) stdout: "HEADER DATA" of
            "echo: " + the plaintext, sealed by the acceptor

GSS_PEER_CBT (hex) makes the acceptor require that channel binding
application data ("tls-server-end-point:" and the certificate's hash), as
Extended Protection does. A refused logon answers "ERROR <base64 error
token, or -> <gss status>" instead of a token and ends; anything else unexpected ends it with a
message on stderr and exit status 1.
"""
import base64
import os
import sys

import gssapi
from gssapi.raw import IOV, ChannelBindings, IOVBufferType, unwrap_iov, wrap_iov


def main():
    creds = gssapi.Credentials(usage="accept")
    cbt = os.environ.get("GSS_PEER_CBT")
    bindings = ChannelBindings(application_data=bytes.fromhex(cbt)) if cbt else None
    ctx = gssapi.SecurityContext(creds=creds, usage="accept", channel_bindings=bindings)
    token = base64.b64decode(sys.stdin.readline())
    # python-gssapi returns MIT's error token from step and raises the
    # error on the context's next use, here complete
    out = ctx.step(token)
    try:
        complete = ctx.complete
    except gssapi.exceptions.GSSError as e:
        print("ERROR", base64.b64encode(out or b"").decode() or "-", str(e).replace("\n", " "), flush=True)
        return
    if not complete:
        sys.exit("the context is not complete after the client's token")
    print(base64.b64encode(out or b"").decode(), flush=True)
    for line in sys.stdin:
        header, data = (base64.b64decode(p) for p in line.split(" "))
        # pyspnego's unwrap_winrm for MIT: header, data, and an empty data
        # buffer for the padding WinRM never sends
        iov = IOV((IOVBufferType.header, False, header), data, IOVBufferType.data, std_layout=False)
        unwrap_iov(ctx, iov)
        msg = b"echo: " + iov[1].value
        # pyspnego's wrap_winrm: header, data, padding
        iov = IOV(IOVBufferType.header, msg, IOVBufferType.padding, std_layout=False)
        wrap_iov(ctx, iov, confidential=True)
        sealed = iov[1].value + (iov[2].value or b"")
        print(base64.b64encode(iov[0].value).decode(), base64.b64encode(sealed).decode(), flush=True)


if __name__ == "__main__":
    try:
        main()
    except gssapi.exceptions.GSSError as e:
        sys.exit("gss-peer: %s" % e)
