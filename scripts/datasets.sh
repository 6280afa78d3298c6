#!/usr/bin/env bash
# Fetches the data sets the tensor engine's tests and training jobs use into .kumo/datasets/ (idempotent):
#   digits.csv.gz  scikit-learn's 8×8 handwritten digits (1,797 rows: 64 pixels 0–16, then the label), taken
#                  from Debian's python3-sklearn package with `apt-get download` (no root needed, nothing installed)
#   licenses.txt   a small English corpus: the GPL-3, LGPL-3, Apache-2.0, MPL-2.0 and Artistic licence texts
#                  that every Debian system ships in /usr/share/common-licenses
# Prints the directory on success.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
DEST="$ROOT/.kumo/datasets"
mkdir -p "$DEST"

if [ ! -s "$DEST/digits.csv.gz" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  chmod 755 "$work" # so apt's unprivileged _apt user may write there (no "unsandboxed" warning)
  (cd "$work" && apt-get download -qq python3-sklearn >/dev/null) \
    || { echo "datasets.sh: apt-get download python3-sklearn failed (is Debian's archive reachable?)" >&2; exit 1; }
  dpkg-deb -x "$work"/python3-sklearn_*.deb "$work/x"
  src="$(find "$work/x" -path '*sklearn/datasets/data/digits.csv.gz' | head -n 1)"
  [ -n "$src" ] || { echo "datasets.sh: digits.csv.gz not found in python3-sklearn" >&2; exit 1; }
  cp "$src" "$DEST/digits.csv.gz.tmp" && mv "$DEST/digits.csv.gz.tmp" "$DEST/digits.csv.gz"
fi

if [ ! -s "$DEST/licenses.txt" ]; then
  cat /usr/share/common-licenses/{GPL-3,LGPL-3,Apache-2.0,MPL-2.0,Artistic} > "$DEST/licenses.txt.tmp"
  mv "$DEST/licenses.txt.tmp" "$DEST/licenses.txt"
fi

echo "$DEST"
