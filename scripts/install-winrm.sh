#!/usr/bin/env bash
# pywinrm (Debian's python3-winrm, maintained by others) as the MS-WSMV
# encryption oracle of scripts/itest/winsession_test.go: its own framing
# of multipart/encrypted bodies parses exdiag's sealed requests and frames
# the answers, around gss-ntlmssp's and MIT's sealing (scripts/servers/ntlm-seal.py,
# SEAL_FRAMING=wsmv).
set -euo pipefail
here=$(dirname "$0")
bash "$here/install-ntlm.sh"
bash "$here/apt-install.sh" python3-winrm
