#!/usr/bin/env bash
# Regenerates the openssl-made fixtures in this folder (fuzz seeds and
# reader tests). Everything here is TEST ONLY: the key below protects
# nothing and must never be used for real data.
set -euo pipefail
cd "$(dirname "$0")"
pw=fuzz-seed-password
head -c 128 /dev/zero > payload.dcm
printf 'DICM' >> payload.dcm
head -c 200 ../../../testdata/sample-study/77654033/CR1/6154 | tail -c 68 >> payload.dcm
openssl req -x509 -newkey rsa:2048 -nodes -keyout TEST-ONLY-key.pem -out TEST-ONLY-cert.pem \
  -days 36500 -subj "/CN=SecureMedia fuzz fixtures (TEST ONLY)" 2>/dev/null
enc() { openssl cms -encrypt -binary -in "$1" -outform DER -out "$2" "${@:3}"; }
enc payload.dcm pwri-des3.der -pwri_password "$pw"
enc payload.dcm pwri-aes128.der -aes128 -pwri_password "$pw"
enc payload.dcm pwri-aes256-stream.der -aes256 -stream -pwri_password "$pw"
enc payload.dcm ktri-keyid-aes128.der -aes128 -keyid TEST-ONLY-cert.pem
enc payload.dcm ktri-oaep-stream.der -aes256 -stream -recip TEST-ONLY-cert.pem -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256
openssl cms -sign -binary -nodetach -in payload.dcm -signer TEST-ONLY-cert.pem -inkey TEST-ONLY-key.pem -outform DER -out signed.tmp
enc signed.tmp signed-then-pwri.der -aes256 -pwri_password "$pw"
rm signed.tmp
