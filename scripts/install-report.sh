#!/usr/bin/env bash
# The outside tools that judge exdiag's report formats (report/tools_test.go):
# chromium renders the html report headless, xmllint (libxml2-utils) checks
# the junit report against its XSD, promtool (in Debian's prometheus
# package) checks the prometheus exposition.
set -euo pipefail
here=$(dirname "$0")
bash "$here/apt-install.sh" chromium libxml2-utils prometheus fonts-dejavu-core
