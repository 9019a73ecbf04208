#!/bin/sh
# Fetch, on a machine with network, the two small pure-Python wheels that the GPU machine lacks
# (array-api-compat: CuPy's missing standard names; array-api-strict: the tests' strict backend) into
# wheels/ at the checkout root.  wheels/ is left untracked, so the device `run` tool copies it along
# with the working tree; do not commit it.  Then run the prepared command of docs/backends.md.
set -eu
cd "$(dirname "$0")/.."
rm -rf wheels
python -m pip download --no-deps --only-binary=:all: -d wheels 'array-api-compat>=1.12' 'array-api-strict>=2.2'
ls -l wheels
