#!/usr/bin/env bash
# nginx (the reverse proxy with real proxy_ssl_verify 502s) and openssl
# for the auth integration tests.
exec bash "$(dirname "$0")/apt-install.sh" nginx openssl
