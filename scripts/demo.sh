#!/usr/bin/env bash
# make demo: seal every file of the bundled sample study under one generated
# passphrase, inspect one, unseal them all and check the round trip.
set -euo pipefail
cd "$(dirname "$0")/.."
sm=./bin/securemedia
out=demo-out
rm -rf "$out"; mkdir -p "$out/sealed" "$out/opened"
umask 077

"$sm" password > "$out/password.txt"
echo "passphrase (test only): $(cat "$out/password.txt")"

mapfile -t files < <(find testdata/sample-study -type f ! -name '*.md' | sort)
echo "sealing ${#files[@]} files ..."
"$sm" seal --password-file "$out/password.txt" -o "$out/sealed" "${files[@]}"
first=$(find "$out/sealed" -type f | sort | head -1)
"$sm" inspect "$first"
echo "unsealing ..."
"$sm" unseal --password-file "$out/password.txt" -o "$out/opened" $(find "$out/sealed" -type f | sort)
n=0
for f in "${files[@]}"; do
  b=$(basename "$f")
  cmp -s "$f" "$out/opened/$b" || { echo "MISMATCH: $f"; exit 1; }
  n=$((n+1))
done
echo "demo OK: $n files sealed and unsealed byte-identically (see $out/)"
