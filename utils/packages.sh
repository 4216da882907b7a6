# Sourced by utils/setup.sh and utils/check-hardened.sh (not run on its own):
# install_missing WHO PACKAGE... installs, with apt-get, the Debian packages
# of the list that are not installed yet (sudo unless root), saying so as WHO.
install_missing() {
  local who=$1; shift
  local missing=() p
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "$who: installing ${missing[*]}"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}
