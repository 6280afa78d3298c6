# Installs what Kumo needs that this machine lacks. Sourced by ./kumo and ./test.sh.
# Debian/Ubuntu: apt-get (as root, or through sudo when it needs no password).

kumo_apt_install() {
  local packages=("$@") runner=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      runner=(sudo -n)
    else
      echo "kumo: needs ${packages[*]}; install with: sudo apt-get install -y ${packages[*]}" >&2
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "kumo: needs ${packages[*]} and this system has no apt-get; install them with its package manager" >&2
    return 1
  fi
  echo "kumo: installing ${packages[*]}…" >&2
  # One `apt-get update` per machine boot is enough.
  if [ ! -f /tmp/.kumo-apt-updated ]; then
    DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get update -qq >&2 && touch /tmp/.kumo-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}

kumo_need_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "kumo: the .NET SDK (10.0) is required: https://dotnet.microsoft.com/download" >&2
    exit 1
  fi
}

kumo_need_bwrap() {
  command -v bwrap >/dev/null 2>&1 || kumo_apt_install bubblewrap || exit 1
  # util-linux (prlimit, setpriv) is part of every Debian base system; checked for minimal images.
  command -v prlimit >/dev/null 2>&1 || kumo_apt_install util-linux || exit 1
}

# The GPU backend's binding is tested against a CPU stand-in for libcuda/libcublas built from C (test/…/fake_cuda.c).
kumo_need_cc() {
  command -v cc >/dev/null 2>&1 || kumo_apt_install gcc libc6-dev || exit 1
}

kumo_need_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || kumo_apt_install nodejs npm || exit 1
}

# `kumo bench tensor` measures OpenBLAS sgemm through numpy as its anchor. The python3 on the PATH may be a pyenv or
# venv one without numpy; the benchmark falls back to the system's /usr/bin/python3, so either having it is enough.
kumo_need_numpy() {
  { python3 -c 'import numpy' || /usr/bin/python3 -c 'import numpy'; } 2>/dev/null \
    || kumo_apt_install python3-numpy libopenblas0-pthread || exit 1
}

# The data sets of the AI examples and the tensor engine's tests (digits from Debian's python3-sklearn package,
# a licence-text corpus from /usr/share/common-licenses) into .kumo/datasets/.
kumo_need_datasets() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [ ! -s "$root/.kumo/datasets/digits.csv.gz" ] || [ ! -s "$root/.kumo/datasets/licenses.txt" ]; then
    command -v dpkg-deb >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
      || { echo "kumo: fetching the data sets needs apt-get and dpkg-deb (Debian/Ubuntu)" >&2; return 1; }
    bash "$root/scripts/datasets.sh" >/dev/null || return 1
  fi
}
