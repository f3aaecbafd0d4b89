#!/usr/bin/env bash
# Part of make bench: burn the 500-slice CT of ../shared/scripts/make-large-study.sh
# and compare with (a) cp -r, (b) the anchor pipeline (openssl cms per file +
# dcmmkdir + xorriso) and (c) one core's AES-256-CBC speed (openssl speed);
# then open + extract. Wall time of one run, peak RSS from GNU time.
#   BENCH_SLICES (default 500)
set -euo pipefail
cd "$(dirname "$0")/.."
sm=$PWD/bin/securemedia
out=$PWD/bench-out/burn
slices=${BENCH_SLICES:-500}
for tool in /usr/bin/time openssl dcmmkdir xorriso python3; do
  command -v "$tool" >/dev/null || { echo "bench-burn needs $tool"; exit 1; }
done
rm -rf "$out"; mkdir -p "$out"
pw="bench passphrase, not secret"
printf '%s\n' "$pw" > "$out/pw"

study=$(./scripts/large-study.sh "$slices")
bytes=$(du -sb "$study" | cut -f1)

report="$out/report.md"
# timed CLEAN CMD: runs CMD after CLEAN (removing the previous run's
# output) and a sync, both untimed: the filesystem here is mounted with
# "discard", and a deleted 263 MB image's discard would otherwise be paid
# by the next command's fsync. Sets secs and kb (peak RSS).
timed() {
  bash -c "$1"
  sync
  /usr/bin/time -f "%e %M" -o "$out/time" bash -c "$2" >/dev/null 2>"$out/stderr" || { cat "$out/stderr"; exit 1; }
  read -r secs kb < "$out/time"
}
# median TIMES...: the middle one.
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
# runs_line LABEL MAXKB TIMES...: a report line with the median and every run.
runs_line() {
  local label=$1 maxkb=$2; shift 2
  awk -v l="$label" -v s="$(median "$@")" -v k="$maxkb" -v b="$bytes" -v all="$*" \
    'BEGIN { printf "| %s | %.2f s (runs: %s) | %.0f MB/s | %.1f MB |\n", l, s, all, b / 1e6 / (s > 0 ? s : 0.01), k / 1024 }' | tee -a "$report"
}
run() { # LABEL CMD... (in a subshell so pipelines work); sets secs and kb
  local label=$1; shift
  timed true "$*"
  awk -v l="$label" -v s="$secs" -v k="$kb" -v b="$bytes" \
    'BEGIN { printf "| %s | %.2f s | %.0f MB/s | %.1f MB |\n", l, s, b / 1e6 / (s > 0 ? s : 0.01), k / 1024 }' | tee -a "$report"
}

aes=$(openssl speed -evp aes-256-cbc -seconds 2 -bytes 16384 2>/dev/null | awk '/^AES-256-CBC/ {print $2}' | tr -d k)
aes_mb=$(awk -v k="$aes" 'BEGIN { printf "%.0f", k * 1000 / 1e6 }')
{
  echo "# burn benchmark — $(date -u +%F), $(nproc) cores"
  echo
  echo "Input: ${slices}-slice CT (512x512, 16-bit), $(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1e6}') MB in ${slices} files."
  echo "One core's AES-256-CBC (openssl speed -evp aes-256-cbc, 16 KiB blocks): ${aes_mb} MB/s."
  echo
  echo "| operation | time | throughput (input MB/s) | peak RSS |"
  echo "|---|---:|---:|---:|"
} > "$report"
cat "$report"

run "cp -r (copy only)" "cp -r '$study' '$out/copy'"
disc="$out/disc.iso"

# The throughput target is about sealing the study: --no-viewer. The
# second line is a real disc, with the four viewer programs (plain, about
# 41 MB more to write), when make viewers has built them.
# burn and extract are compared with each other, so their runs alternate:
# a slow spell of the shared machine (single runs here vary by up to 2x)
# then falls on both alike. Five pairs; the medians count.
repeats=5
burn_times=() extract_times=() burn_kb=0 extract_kb=0
for n in $(seq $repeats); do
  timed "rm -f '$disc'" "'$sm' burn '$study' -o '$disc' --no-viewer --password-file '$out/pw' --label BENCH"
  burn_times+=("$secs"); if (( kb > burn_kb )); then burn_kb=$kb; fi
  timed "rm -rf '$out/extracted'" "'$sm' extract '$disc' -o '$out/extracted' --password-file '$out/pw'"
  extract_times+=("$secs"); if (( kb > extract_kb )); then extract_kb=$kb; fi
done
runs_line "securemedia burn (study only, --no-viewer; median of $repeats)" "$burn_kb" "${burn_times[@]}"
burn_s=$(median "${burn_times[@]}")
if [ -d "$(dirname "$sm")/VIEWER" ]; then
  run "securemedia burn with the viewer programs" "'$sm' burn '$study' -o '$out/with-viewers.iso' --password-file '$out/pw' --label BENCH"
  rm -f "$out/with-viewers.iso"
fi
run "anchor: dcmmkdir + openssl cms per file + xorriso" "
  set -e; cd '$out/copy' && dcmmkdir +I +r CT
  mkdir -p '$out/anchor/CT'
  for f in DICOMDIR CT/*; do openssl cms -encrypt -binary -aes256 -pwri_password '$pw' -in \$f -outform DER -out '$out/anchor/'\$f; done
  xorriso -as mkisofs -quiet -iso-level 1 -V BENCH -o '$out/anchor.iso' '$out/anchor'"
anchor_s=$secs
run "securemedia open" "'$sm' open '$disc' --password-file '$out/pw'"
printf 'not the password\n' > "$out/badpw"
start=$(date +%s.%N)
"$sm" open "$disc" --password-file "$out/badpw" >/dev/null 2>&1 && { echo "wrong password accepted"; exit 1; }
awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "| securemedia open, wrong password (exit 3) | %.2f s | | |\n", e - s }' | tee -a "$report"
runs_line "securemedia extract (median of $repeats, each run after a burn run)" "$extract_kb" "${extract_times[@]}"
extract_s=$(median "${extract_times[@]}")
run "securemedia verify" "'$sm' verify '$disc' --password-file '$out/pw'"
echo | tee -a "$report"
echo "Target: burn at least 50% of one core's AES figure ($(( aes_mb / 2 )) MB/s), 10x the anchor, peak RSS <= 128 MB, extract at least as fast as burn." | tee -a "$report"
awk -v b="$bytes" -v bs="$burn_s" -v xs="$extract_s" -v aes="$aes_mb" -v as="$anchor_s" 'BEGIN {
  printf "burn is %.1fx faster than the anchor pipeline: %s\n", as / bs, (as / bs >= 10 ? "met" : "NOT met")
  burn = b / 1e6 / bs; ex = b / 1e6 / xs
  printf "burn %.0f MB/s = %.0f%% of one core AES-256-CBC (%s MB/s): %s; extract %.0f MB/s: %s\n",
    burn, 100 * burn / aes, aes, (burn >= aes / 2 ? "met" : "NOT met"), ex, (ex >= burn ? "at least burn, met" : "slower than burn, NOT met") }' | tee -a "$report"
rm -rf "$out/copy" "$out/anchor" "$out/anchor.iso" "$out/extracted" "$out/usb" "$out/disc.iso"
echo "report: $report"
