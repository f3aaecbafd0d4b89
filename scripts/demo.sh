#!/usr/bin/env bash
# make demo: seal the bundled sample study under one generated passphrase,
# inspect a sealed file, unseal everything and check the round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
sm=./bin/securemedia
study=testdata/sample-study
out=demo-out
rm -rf "$out"; mkdir -p "$out"
umask 077

"$sm" password > "$out/password.txt"
echo "passphrase (demo only): $(cat "$out/password.txt")"
"$sm" seal --password-file "$out/password.txt" "$study" -o "$out/sealed"
first=$(find "$out/sealed" -type f | sort | head -1)
"$sm" inspect "$first"
"$sm" unseal --password-file "$out/password.txt" "$out/sealed" -o "$out/opened"
diff -r -x README.md "$study" "$out/opened"
echo "demo OK: $(find "$out/opened" -type f | wc -l) files sealed and unsealed byte-identically (see $out/)"
