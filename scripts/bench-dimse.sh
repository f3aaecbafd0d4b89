#!/usr/bin/env bash
# bench-dimse.sh: C-STORE throughput of "securemedia send" against dcmtk's
# storescu (with TCP_NODELAY=1, its tuned setting), both sending the same
# synthetic 500-slice CT (/work/shared/scripts/make-large-study.sh, ~263 MB)
# to the same "storescp +B" over loopback, one association each, and ours
# with 2 and 4 parallel associations; and ours from the study burnt to a
# sealed ISO (each instance decrypted and checked on the way).
#   BENCH_SLICES  number of slices (default 500)
#   BENCH_RUNS    runs per sender, best kept (default 3)
#   BENCH_PAIRS   alternating folder/ISO sends for their ratio (default 7)
# storescp 3.6.7 listens on every interface, so everything runs in a private
# network namespace (unshare -rn) with only lo up. Output: bench-out/dimse/ (report.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
for t in storescp storescu unshare ip python3; do
  command -v "$t" >/dev/null || { echo "bench-dimse: needs $t"; exit 1; }
done
slices=${BENCH_SLICES:-500}
runs=${BENCH_RUNS:-3}
out=$PWD/bench-out/dimse
sm=$PWD/bin/securemedia
[ -x "$sm" ] || go build -o "$sm" ./cmd/securemedia
mkdir -p "$out"
study=$(./scripts/large-study.sh "$slices")
bytes=$(du -sb "$study/CT" | cut -f1)
# The same study burnt to a sealed ISO (password), for send from a disc:
# each instance is decrypted and checked on the way to the PACS.
printf 'bench passphrase, not secret\n' > "$out/pw"
if [ ! -f "$out/disc.$slices.ok" ]; then
  rm -f "$out/disc.iso"
  "$sm" burn "$study/CT" -o "$out/disc.iso" --no-viewer --password-file "$out/pw" --label BENCH >/dev/null 2>&1
  touch "$out/disc.$slices.ok"
fi
files=$(find "$study/CT" -type f | wc -l)

export SM=$sm OUT=$out STUDY=$study BYTES=$bytes FILES=$files RUNS=$runs PAIRS=${BENCH_PAIRS:-7}
unshare -rn --kill-child bash -c '
set -euo pipefail
ip link set lo up
rx=$OUT/rx; mkdir -p "$rx"
# TCP_NODELAY=1: without it the replies of storescp stall 40 ms (Nagle and
# delayed ACK) and both senders measure only that. --fork: one process per
# association, so parallel associations are served in parallel.
TCP_NODELAY=1 storescp --fork -aet BENCH +B -od "$rx" 11112 & scp=$!
trap "kill $scp 2>/dev/null" EXIT
for i in $(seq 50); do echoscu -aec BENCH 127.0.0.1 11112 2>/dev/null && break; sleep 0.1; done
best() { sort -n | head -1; }
run() { # label command...
  local label=$1; shift
  local times=()
  for r in $(seq "$RUNS"); do
    rm -f "$rx"/*
    local t0=$(date +%s.%N)
    "$@" >/dev/null 2>"$OUT/$label.err" || { echo "$label failed:"; cat "$OUT/$label.err"; exit 1; }
    local t1=$(date +%s.%N)
    local got=$(find "$rx" -type f | wc -l)
    [ "$got" -eq "$FILES" ] || { echo "$label: $got of $FILES received"; exit 1; }
    times+=("$(awk -v a="$t0" -v b="$t1" "BEGIN{print b-a}")")
  done
  local t=$(printf "%s\n" "${times[@]}" | best)
  awk -v l="$label" -v t="$t" -v f="$FILES" -v b="$BYTES" \
    "BEGIN{printf \"%-28s %7.2f s %8.0f images/s %6.0f MB/s\\n\", l, t, f/t, b/t/1e6}"
}
echo "C-STORE of $FILES instances ($((BYTES / 1000000)) MB) to storescp +B, one association, best of $RUNS"
run "securemedia send" "$SM" send "$STUDY/CT" --pacs BENCH@127.0.0.1:11112 --no-resume --state "$OUT/state.tsv"
run "securemedia send sealed ISO" "$SM" send "$OUT/disc.iso" --password-file "$OUT/pw" --pacs BENCH@127.0.0.1:11112 --no-resume --state "$OUT/state.tsv"
run "securemedia send, 2 assoc." "$SM" send "$STUDY/CT" --pacs BENCH@127.0.0.1:11112 --no-resume --state "$OUT/state.tsv" --associations 2
run "securemedia send, 4 assoc." "$SM" send "$STUDY/CT" --pacs BENCH@127.0.0.1:11112 --no-resume --state "$OUT/state.tsv" --associations 4
run "storescu (TCP_NODELAY=1)" env TCP_NODELAY=1 storescu -aec BENCH 127.0.0.1 11112 +sd "$STUDY/CT"
# Folder and ISO sends alternate PAIRS times; the ratio of their medians
# counts (single runs on this shared machine vary by up to 2x, and best-of
# pairs a lucky run of one with an ordinary run of the other).
once() { rm -f "$rx"/*; local t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || exit 1; awk -v a="$t0" -v b="$(date +%s.%N)" "BEGIN{print b-a}"; }
folder=() iso=()
for r in $(seq "$PAIRS"); do
  folder+=("$(once "$SM" send "$STUDY/CT" --pacs BENCH@127.0.0.1:11112 --no-resume --state "$OUT/state.tsv")")
  iso+=("$(once "$SM" send "$OUT/disc.iso" --password-file "$OUT/pw" --pacs BENCH@127.0.0.1:11112 --no-resume --state "$OUT/state.tsv")")
done
med() { printf "%s\n" "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
awk -v f="$(med "${folder[@]}")" -v i="$(med "${iso[@]}")" -v n="$PAIRS" \
  "BEGIN{printf \"send from the sealed ISO: %.2fx the throughput of send from the plain folder (medians of %d alternating pairs: %.2f s and %.2f s; target 0.7x)\\n\", f/i, n, f, i}"
' | tee "$out/report.txt"
