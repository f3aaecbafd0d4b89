#!/usr/bin/env bash
# make demo: burn the bundled sample study to an encrypted disc image with a
# generated password, then open, verify and extract it as a receiving
# hospital would.
set -euo pipefail
cd "$(dirname "$0")/.."
sm=./bin/securemedia
study=testdata/sample-study
out=demo-out
rm -rf "$out"; mkdir -p "$out"
umask 077

disc="$out/disc.iso"
"$sm" burn "$study" -o "$disc" --generate-password --slip "$out/slip.txt" \
  --contact "SecureMedia demo (test data only)"
pw=$(grep -Eo '[a-z]+(-[a-z]+){7,}' "$out/slip.txt")
printf '%s\n' "$pw" > "$out/password.txt"

echo "--- securemedia open $disc"
"$sm" open "$disc" --password-file "$out/password.txt"
echo "--- securemedia verify $disc"
"$sm" verify "$disc" --password-file "$out/password.txt"
echo "--- securemedia extract $disc -o $out/extracted"
"$sm" extract "$disc" -o "$out/extracted" --password-file "$out/password.txt"
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) viewer=LINUX/VIEWER ;;
  Darwin/arm64) viewer=MAC_ARM/VIEWER ;;
  Darwin/x86_64) viewer=MAC_X64/VIEWER ;;
  *) viewer= ;;
esac
cat <<MSG

Demo done. The encrypted medium is $disc; its password is in $out/slip.txt.
Open it yourself with:
  $sm open $disc --password-file $out/password.txt
  $sm extract $disc -o SOMEWHERE --password-file $out/password.txt
  $sm view $disc
MSG
if [ -n "$viewer" ] && [ -x "bin/VIEWER/$viewer" ]; then
  cat <<MSG
The disc carries the viewer programs under VIEWER/ (see README.TXT on it).
Burnt or mounted, the one for this computer starts by a double-click; from here:
  bin/VIEWER/$viewer $disc
MSG
fi
