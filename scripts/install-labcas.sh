#!/usr/bin/env bash
# Installs the clients scripts/itest/labcas_test.go logs on to the lab's
# CAS with, so its Windows acceptors are checked by implementations nobody
# here wrote: curl (its own NTLMv2) and python3-gssapi (MIT's GSS-API
# initiator, through scripts/servers/gss-initiator.py).
set -euo pipefail
cd "$(dirname "$0")"
bash ./apt-install.sh curl python3-gssapi
exit 0
