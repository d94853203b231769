#!/usr/bin/env bash
# Apache httpd with mod_auth_gssapi and gss-ntlmssp (the GSSAPI NTLM
# mechanism Samba's and FreeIPA's people maintain) for the NTLM
# integration test (scripts/itest/ntlm_test.go): a real NTLMv2 acceptor,
# written by others, that checks exdiag's NTProofStr and MIC.
set -euo pipefail
here=$(dirname "$0")
bash "$here/apt-install.sh" apache2 libapache2-mod-auth-gssapi gss-ntlmssp
