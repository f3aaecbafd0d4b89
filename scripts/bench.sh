#!/usr/bin/env bash
# make bench: securemedia vs "openssl cms" on one large file (throughput and
# peak RSS, AES-256-CBC, password recipient), peak RSS on a 2 GiB file, and
# the cost of opening 1000 files sealed under one password.
#   BENCH_SIZE_MB  size of the comparison file (default 600)
#   BENCH_BIG_MB   size of the RSS check file (default 2048; 0 skips it)
# Outputs go to bench-out/ (git-ignored); the report is bench-out/report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)"; exit 1; }
command -v openssl >/dev/null || { echo "needs openssl"; exit 1; }
sm=$PWD/bin/securemedia
out=bench-out
size_mb=${BENCH_SIZE_MB:-600}
big_mb=${BENCH_BIG_MB:-2048}
rm -rf "$out"; mkdir -p "$out"
pw="bench passphrase, not secret"
printf '%s\n' "$pw" > "$out/pw"
sample=testdata/sample-study/77654033/CR1/6154

# A DICOM-headed file: the preamble, "DICM" and file meta of a real file,
# then random bytes (incompressible, like the worst case of pixel data).
make_file() { # path MiB
  head -c 132 "$sample" > "$1"
  head -c $(( $2 * 1024 * 1024 )) /dev/urandom >> "$1"
}

# measure LABEL BYTES CMD...: one run, wall time and peak RSS.
measure() {
  local label=$1 bytes=$2; shift 2
  sync
  /usr/bin/time -f "%e %M" -o "$out/time" "$@" >/dev/null 2>"$out/stderr" || { cat "$out/stderr"; exit 1; }
  read -r secs kb < "$out/time"
  awk -v l="$label" -v s="$secs" -v k="$kb" -v b="$bytes" \
    'BEGIN { printf "| %s | %.2f s | %.0f MB/s | %.1f MB |\n", l, s, b / 1e6 / (s > 0 ? s : 0.01), k / 1024 }' | tee -a "$out/report.md"
}

echo "making a ${size_mb} MiB test file ..."
make_file "$out/big.dcm" "$size_mb"
bytes=$(stat -c %s "$out/big.dcm")
{
  echo "# securemedia vs openssl cms — $(date -u +%F), $(nproc) cores, $(openssl version)"
  echo
  echo "File: ${size_mb} MiB. Password recipient, AES-256-CBC. securemedia: PBKDF2-HMAC-SHA256 600 000"
  echo "iterations, DigestedData (SHA-256) unless marked, output fsync'ed; openssl: its defaults"
  echo "(PBKDF2-HMAC-SHA1 2048 iterations, plain id-data). Wall time of one run; peak RSS from GNU time."
  echo
  echo "| operation | time | throughput | peak RSS |"
  echo "|---|---:|---:|---:|"
} > "$out/report.md"
cat "$out/report.md"
measure "securemedia seal (DigestedData)" "$bytes" "$sm" seal --password-file "$out/pw" "$out/big.dcm" -o "$out/big.sm"
measure "securemedia seal --plain-data" "$bytes" "$sm" seal --plain-data --password-file "$out/pw" "$out/big.dcm" -o "$out/big.sm-plain"
measure "openssl cms -encrypt" "$bytes" openssl cms -encrypt -binary -aes256 -pwri_password "$pw" -in "$out/big.dcm" -outform DER -out "$out/big.ossl"
measure "securemedia unseal (own file)" "$bytes" "$sm" unseal --password-file "$out/pw" "$out/big.sm" -o "$out/back.sm"
measure "securemedia unseal (openssl's file)" "$bytes" "$sm" unseal --password-file "$out/pw" "$out/big.ossl" -o "$out/back.ossl"
measure "openssl cms -decrypt (own file)" "$bytes" openssl cms -decrypt -binary -inform DER -pwri_password "$pw" -in "$out/big.ossl" -out "$out/back.ossl2"
cmp "$out/big.dcm" "$out/back.sm" && cmp "$out/big.dcm" "$out/back.ossl" && cmp "$out/big.dcm" "$out/back.ossl2"
echo "(all outputs byte-identical to the input)" | tee -a "$out/report.md"
rm -f "$out"/big.* "$out"/back.*

if [ "$big_mb" -gt 0 ]; then
  echo "making a ${big_mb} MiB file for the memory check ..."
  make_file "$out/huge.dcm" "$big_mb"
  hbytes=$(stat -c %s "$out/huge.dcm")
  { echo; echo "Peak RSS on a ${big_mb} MiB file (target: at most 64 MB):"; echo
    echo "| operation | time | throughput | peak RSS |"; echo "|---|---:|---:|---:|"; } | tee -a "$out/report.md"
  measure "securemedia seal" "$hbytes" "$sm" seal --password-file "$out/pw" "$out/huge.dcm" -o "$out/huge.sm"
  measure "securemedia unseal" "$hbytes" "$sm" unseal --password-file "$out/pw" "$out/huge.sm" -o "$out/huge.back"
  cmp "$out/huge.dcm" "$out/huge.back"
  rm -f "$out"/huge.*
fi

echo "sealing 1000 small files in one run ..."
mkdir -p "$out/many"
for i in $(seq -w 1 1000); do cp "$sample" "$out/many/IM$i"; done
"$sm" seal --password-file "$out/pw" "$out/many" -o "$out/many.sealed" 2>/dev/null
{ echo; echo "Opening 1000 files sealed in one run (one salt, 600 000 iterations):"; echo; } | tee -a "$out/report.md"
sync
/usr/bin/time -f "%e %M" -o "$out/time" "$sm" unseal --password-file "$out/pw" "$out/many.sealed" -o "$out/many.opened" 2>"$out/stderr"
read -r secs kb < "$out/time"
echo "- securemedia unseal: ${secs} s for 1000 files; it reports: \"$(tail -1 "$out/stderr")\"" | tee -a "$out/report.md"
go test ./cms -run '^$' -bench 'Open1000|PBKDF2Default' -benchtime 3x > "$out/gobench" 2>&1
awk '/Open1000/ {printf "- in memory (BenchmarkOpen1000FilesOneSalt): %.0f ms per 1000 files, %s PBKDF2 run(s) per 1000 files\n", $3/1e6, $5}
     /PBKDF2Default/ {printf "- one PBKDF2 (600 000 iterations, HMAC-SHA256) alone: %.0f ms, so 1000 per-file derivations would cost about %.0f s\n", $3/1e6, $3/1e6}' \
  "$out/gobench" | tee -a "$out/report.md"
diff -r "$out/many" "$out/many.opened"
rm -rf "$out/many" "$out/many.sealed" "$out/many.opened"
echo
echo "report: $out/report.md"
