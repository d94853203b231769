#!/usr/bin/env bash
# BIND 9 (named) and dig for the DNS integration tests.
exec bash "$(dirname "$0")/apt-install.sh" bind9 bind9-dnsutils
