#!/usr/bin/env bash
# install-deps.sh -- the Debian packages the mail rig, its tests and scripts/compare-mail need.
#
#   postfix                       SMTP daemon of the rig (mail-rig.sh)
#   dovecot-imapd dovecot-pop3d   IMAP/POP3 daemons of the rig (dovecot-core comes with them)
#   rsync                         the rsync daemon of the rig
#   openssl                       certificates for the rig
#   procps                        ps(1): the rig's stop loop checks each PID it started
#   bsdutils                      script(1): postfix prints its fatal errors only to a tty
#   nmap testssl.sh               the peers scripts/compare-mail compares seawall with
#
# Idempotent: when every package is installed it returns at once without touching apt.
# Non-interactive: postfix's debconf questions are answered first ("No configuration": no
# /etc/postfix/main.cf is written; the rig brings its own), and Debian's policy-rc.d keeps apt from
# starting any of the daemons (see ../shared/research/rigs.md §1).
set -euo pipefail

PACKAGES=(postfix dovecot-imapd dovecot-pop3d rsync openssl procps bsdutils nmap testssl.sh)
PACKAGES+=(postgresql)  # [issue 7, results store] PostgreSQL server for the store tests (scripts/pg-test-server)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all installed (${PACKAGES[*]})"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi

echo "install-deps: installing ${missing[*]}"
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
echo "postfix postfix/mailname string seawall.test" | $SUDO debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
${SUDO:+$SUDO -E} apt-get install -y -qq --no-install-recommends "${missing[@]}"
