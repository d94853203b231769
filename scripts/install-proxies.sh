#!/usr/bin/env bash
# HAProxy and Apache httpd (mod_proxy, mod_proxy_http, mod_ssl ship in the
# apache2 package) for the reverse-proxy integration tests
# (scripts/itest/proxies_test.go), and openssl for their certificates.
set -euo pipefail
here=$(dirname "$0")
bash "$here/apt-install.sh" openssl haproxy apache2
