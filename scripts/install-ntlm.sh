#!/usr/bin/env bash
# The real NTLM acceptor of the NTLM integration tests
# (scripts/itest/ntlm_test.go): gss-ntlmssp, a GSSAPI NTLMv2 mechanism
# written by others, which checks exdiag's NTProofStr, MIC, channel
# binding and sealing; behind Apache httpd's mod_auth_gssapi
# (scripts/servers/apache-ntlm.sh) and driven through python3-gssapi
# (scripts/servers/ntlm-seal.sh).
set -euo pipefail
here=$(dirname "$0")
bash "$here/apt-install.sh" apache2 libapache2-mod-auth-gssapi gss-ntlmssp python3-gssapi
