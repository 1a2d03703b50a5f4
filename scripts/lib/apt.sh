# Sourced by scripts/setup/*.sh: `apt_install PKG...` installs Debian packages quietly, without starting
# their services (a policy-rc.d is in place during the install), waiting for a busy dpkg lock.
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
  fi
  local status=0
  { apt-get -o DPkg::Lock::Timeout=600 -qq update &&
    apt-get -o DPkg::Lock::Timeout=600 -qq install --no-install-recommends "$@" >/dev/null; } || status=$?
  if [ "$added_policy" = 1 ]; then rm -f "$policy"; fi
  return "$status"
}
