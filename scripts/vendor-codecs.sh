#!/usr/bin/env bash
# Re-fetch the viewer's browser-side image decoders from the npm registry
# and copy their decode-only builds into viewer/static/codecs, checking every
# tarball and every copied file against the sha256 recorded here (and in
# viewer/static/codecs/README.md). Run it to check the vendored files, or
# after changing a pinned version (update the sums then).
#
# Needs node and npm (npm pack only: nothing is installed, no node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=viewer/static/codecs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name@version  sha256 of the registry tarball
tarballs=(
  "@cornerstonejs/codec-openjpeg@1.3.6 e81b0597fbd58d4b3b55b2f06dbca58b83d82b644ac799871324de7da46ce04b"
  "@cornerstonejs/codec-charls@1.2.7 0383755533c104b171b3c0e2bcc45c3c5e9c317e7e6f35ffef38a74371bfa93f"
  "jpeg-lossless-decoder-js@2.1.2 5ef03afb9d0b6fce21c534a345024a7285cc4661a84d2ac6a72d0ebb89a36303"
  "cornerstone-wado-image-loader@4.13.2 f9e77883619aa25496907f3bfdd3234527444172b4afc439d083724aa35adb5f"
)
# file in $dest  sha256
files=(
  "openjpegwasm_decode.js 8e6d4ea409ed817ee08aed0c440048616091781fce5b22b81c7cd850d80937b5"
  "openjpegwasm_decode.wasm 5aff4e65444480a402898fe7369a9d2bc77e8181f858fc0d10150b2dabf07dee"
  "charlswasm_decode.js c8ef100ac02552c692d59e60f61ab9dc84f355a62386d571e3db2c1046aa1f5a"
  "charlswasm_decode.wasm 7e3696ecffee534d7c188ff91790812710c0a267fcbf78620b19da6bc78979f4"
  "jpeg-lossless.js 93db46abb1cd74fd3e556c1c79e8b9ac36bbfa0e092067c9e4aa674c7ef248c3"
  "jpeg.js 53bdd852c17a2364ddbf2cae89343e3d88e5ff5a579c3fed19a240f0a5e76a38"
)

for t in "${tarballs[@]}"; do
  spec=${t% *} sum=${t#* }
  name=$(cd "$work" && npm pack --silent "$spec" 2>/dev/null | tail -1)
  got=$(sha256sum "$work/$name" | cut -d' ' -f1)
  if [ "$got" != "$sum" ]; then
    echo "vendor-codecs: $spec: sha256 $got, expected $sum" >&2
    exit 1
  fi
  mkdir -p "$work/${name%.tgz}"
  tar -xzf "$work/$name" -C "$work/${name%.tgz}"
done

mkdir -p "$dest"
cp "$work"/cornerstonejs-codec-openjpeg-1.3.6/package/dist/openjpegwasm_decode.{js,wasm} "$dest/"
cp "$work"/cornerstonejs-codec-charls-1.2.7/package/dist/charlswasm_decode.{js,wasm} "$dest/"
cp "$work"/cornerstonejs-codec-charls-1.2.7/package/LICENSE "$dest/LICENCE-cornerstonejs-codecs.txt"
# (renamed .js: the viewer serves it with a JavaScript MIME type, which
# importScripts requires under nosniff)
cp "$work"/jpeg-lossless-decoder-js-2.1.2/package/release/cjs/lossless.cjs "$dest/jpeg-lossless.js"
cp "$work"/jpeg-lossless-decoder-js-2.1.2/package/LICENSE "$dest/LICENCE-jpeg-lossless-decoder-js.txt"
# The DCT (baseline and 12-bit extended) decoder is pdf.js's JpegImage as
# cornerstone-wado-image-loader ships it (codecs/jpeg.js, with 12-bit
# getData16); the package has it only inside a webpack chunk, so take the
# original source from that chunk's source map.
#
# One fix is applied: its sample conversion (quantizeAndInverse) scales the
# rounding term with the level shift, so 12-bit samples come out 15 too
# high (ITU T.81 A.3.1: level shift 2^(P-1); 8-bit is unchanged). Measured
# on pydicom's JPGExtended.dcm against dcmdjpeg: +14..15 on every sample
# before, identical to dcmdjpeg's up to IDCT rounding after.
node -e '
const fs = require("fs");
const m = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const i = m.sources.findIndex((s) => s.endsWith("/codecs/jpeg.js"));
if (i < 0) { console.error("codecs/jpeg.js not in the source map"); process.exit(1); }
const before = `      q =
        q <= -2056 / component.bitConversion
          ? 0
          : q >= 2024 / component.bitConversion
          ? 255 / component.bitConversion
          : (q + 2056 / component.bitConversion) >> 4;
`;
const after = `      // SecureMedia (scripts/vendor-codecs.sh): level shift 2^(P-1) and
      // rounding 1/2 for any precision P; the original scaled both.
      var maxVal = Math.round(255 / component.bitConversion), offset = (maxVal + 1) * 8 + 8;
      q = q <= -offset ? 0 : q >= maxVal * 16 - offset ? maxVal : (q + offset) >> 4;
`;
const src = m.sourcesContent[i];
if (src.split(before).length !== 2) { console.error("jpeg.js: the sample conversion to fix is not there"); process.exit(1); }
fs.writeFileSync(process.argv[2], src.replace(before, after));
' "$work"/cornerstone-wado-image-loader-4.13.2/package/dist/dynamic-import/888.min.worker.js.map "$dest/jpeg.js"
cp "$work"/cornerstone-wado-image-loader-4.13.2/package/LICENSE "$dest/LICENCE-cornerstone-wado-image-loader.txt"

for f in "${files[@]}"; do
  file=${f% *} sum=${f#* }
  got=$(sha256sum "$dest/$file" | cut -d' ' -f1)
  if [ "$got" != "$sum" ]; then
    echo "vendor-codecs: $dest/$file: sha256 $got, expected $sum" >&2
    exit 1
  fi
done
echo "vendor-codecs: $dest is up to date"
