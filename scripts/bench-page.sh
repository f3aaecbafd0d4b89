#!/usr/bin/env bash
# Part of make bench: INDEX.HTM (the page that opens a medium in a browser
# alone, cmd/discpage) on the 500-slice CT of
# ../shared/scripts/make-large-study.sh, burnt to a USB folder with the page
# (burn's default PBKDF2 iterations, as users get). In headless Chromium
# (cmd/discpage's TestBenchPage): from pressing Open to the study list and to
# the first image of the series; and how much the page adds to the medium.
# Targets (issue 15): study list <= 1.5 s, first image <= 2 s, the medium
# grows by <= 10 MB.
#   BENCH_SLICES (default 500)
# Output: bench-out/page/report.md
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "bench-page needs chromium (apt-get install chromium)"; exit 1; }
sm=$PWD/bin/securemedia
out=$PWD/bench-out/page
slices=${BENCH_SLICES:-500}
rm -rf "$out"; mkdir -p "$out"
printf 'bench passphrase, not secret\n' > "$out/pw"
study=$(./scripts/large-study.sh "$slices")
"$sm" burn "$study" -o "$out/usb" --media usb --password-file "$out/pw" --label BENCH > /dev/null 2>&1
page_bytes=$(cat "$out/usb/INDEX.HTM" "$out/usb/VIEWER/PAGE/"* | wc -c)

SECUREMEDIA_BENCH_PAGE="$out/usb" SECUREMEDIA_BENCH_PASSWORD_FILE="$out/pw" \
  go test -count=1 -timeout 10m -run '^TestBenchPage$' -v ./cmd/discpage > "$out/test.log" 2>&1 || { cat "$out/test.log"; exit 1; }
{
  echo "# INDEX.HTM benchmark — $(date -u +%F), $(nproc) cores, $(chromium --version 2>/dev/null)"
  echo
  echo "Disc: ${slices}-slice CT (512x512, 16-bit) sealed in a USB folder (password, AES-256-CBC), opened from file:// in headless Chromium."
  echo
  sed -n 's/.*BENCH /- /p' "$out/test.log"
  echo "- INDEX.HTM and VIEWER/PAGE/ on the medium: $(awk -v b="$page_bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }')"
  echo
  echo "Targets (issue 15): study list <= 1.5 s and first image <= 2 s after Open is pressed; the medium grows by <= 10 MB."
  sed -n 's/.*SECONDS list \([0-9.]*\) first \([0-9.]*\).*/\1 \2/p' "$out/test.log" | awk -v b="$page_bytes" '{
    ok = ($1 <= 1.5) && ($2 <= 2) && (b <= 10e6)
    printf "- %s: study list %.2f s, first image %.2f s, page %.1f MB\n", ok ? "PASS" : "FAIL (over a target)", $1, $2, b / 1e6; n++ }
    END { if (!n) print "- FAIL: the test printed no figures" }'
} > "$out/report.md"
cat "$out/report.md"
# make bench fails when a target is missed.
! grep -q 'FAIL' "$out/report.md"
