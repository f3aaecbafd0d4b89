#!/usr/bin/env bash
# Part of make bench: the viewer on the 500-slice CT of
# ../shared/scripts/make-large-study.sh, burnt to an ISO. In headless
# Chromium (viewer's TestBenchViewer): time from pressing Unlock to the study
# list, to the first preview, to the first image of the series; then
# scrolling through every slice, each one drawn. Targets (issue 6): first
# image <= 1 s after the password is accepted; scrolling >= 20 images/s.
#   BENCH_SLICES (default 500)
# Output: bench-out/viewer/report.md
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "bench-viewer needs chromium (apt-get install chromium)"; exit 1; }
sm=$PWD/bin/securemedia
out=$PWD/bench-out/viewer
slices=${BENCH_SLICES:-500}
rm -rf "$out"; mkdir -p "$out"
printf 'bench passphrase, not secret\n' > "$out/pw"
echo "generating the ${slices}-slice CT study ..."
../shared/scripts/make-large-study.sh "$out/study" "$slices" 512 > "$out/study.log"
"$sm" burn "$out/study" -o "$out/disc.iso" --no-viewer --password-file "$out/pw" --label BENCH > /dev/null 2>&1
rm -rf "$out/study"

SECUREMEDIA_BENCH_VIEWER="$out/disc.iso" SECUREMEDIA_BENCH_PASSWORD_FILE="$out/pw" \
  go test -count=1 -run '^TestBenchViewer$' -v ./viewer > "$out/test.log" 2>&1 || { cat "$out/test.log"; exit 1; }
{
  echo "# viewer benchmark — $(date -u +%F), $(nproc) cores, $(chromium --version 2>/dev/null)"
  echo
  echo "Disc: ${slices}-slice CT (512x512, 16-bit) sealed in an ISO image (password, AES-256-CBC)."
  echo
  sed -n 's/.*BENCH /- /p' "$out/test.log"
  echo
  awk '/BENCH study list shown/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) s = $i }
       /BENCH scrolling/ { for (i = 1; i <= NF; i++) if ($i == "images/s") r = $(i - 1) }
       END { printf "Targets: first image <= 1 s after the password is accepted: %.2f s, %s; scrolling >= 20 images/s: %s, %s\n",
             s, (s <= 1 ? "met" : "NOT met"), r, (r >= 20 ? "met" : "NOT met") }' "$out/test.log"
} > "$out/report.md"
cat "$out/report.md"
rm -f "$out/disc.iso"
echo "report: $out/report.md"
