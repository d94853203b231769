#!/usr/bin/python3
"""A real MIT krb5 GSS-API initiator (python3-gssapi over libgssapi_krb5)
for scripts/itest/labcas_test.go: it logs on at the KDC of KRB5_CONFIG with
the password on its first stdin line, makes the SPNEGO token for the
service named on the command line with mutual authentication, bound to
the tls-server-end-point hash given (hex, or "-" for none), and verifies
the acceptor's answer, as a Windows client's SSPI does:

    argv:   SERVICE@HOST  ENDPOINT-HASH-HEX|-
    stdin:  the password                      stdout: base64 SPNEGO token
    stdin:  base64 answer token ("-": none)   stdout: "complete" when the
                                                      AP-REP was verified

Anything unexpected ends it with a message on stderr and exit status 1.
"""
import base64
import sys

import gssapi
from gssapi.raw import ChannelBindings, acquire_cred_with_password


def main():
    service, endpoint = sys.argv[1], sys.argv[2]
    password = sys.stdin.readline().rstrip("\n").encode()
    spnego = gssapi.Mechanism.from_sasl_name("SPNEGO")
    user = gssapi.Name("administrator", gssapi.NameType.user)
    creds = acquire_cred_with_password(user, password, usage="initiate", mechs=[spnego]).creds
    cb = None
    if endpoint != "-":
        cb = ChannelBindings(application_data=b"tls-server-end-point:" + bytes.fromhex(endpoint))
    ctx = gssapi.SecurityContext(
        name=gssapi.Name(service, gssapi.NameType.hostbased_service), creds=creds, usage="initiate",
        mech=spnego, flags=gssapi.RequirementFlag.mutual_authentication | gssapi.RequirementFlag.integrity,
        channel_bindings=cb)
    print(base64.b64encode(ctx.step()).decode(), flush=True)
    answer = sys.stdin.readline().strip()
    if answer == "-":
        sys.exit("gss-initiator: the acceptor sent no answer token")
    ctx.step(base64.b64decode(answer))
    if not ctx.complete:
        sys.exit("gss-initiator: the context is not complete after the acceptor's answer")
    print("complete", flush=True)


if __name__ == "__main__":
    try:
        main()
    except gssapi.exceptions.GSSError as e:
        sys.exit("gss-initiator: %s" % e)
