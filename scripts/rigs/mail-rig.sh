#!/usr/bin/env bash
# mail-rig.sh up|down|ports [DIR] -- real Postfix, Dovecot and rsync daemons on loopback ports for seawall's
# mail tests (crates/scan/tests/mail_daemons.rs) and scripts/compare-mail.
#
# Everything lives under DIR (default /tmp/seawall-rig): configs, certificates, queues, logs, and the file
# DIR/pids that lists every daemon PID `up` started. `down` stops exactly those PIDs and nothing else.
# The daemons get /dev/null as stdin and DIR/daemons.out as stdout/stderr: a caller that reads this script's
# output through a pipe (a test harness) sees it end when the script ends.
# Packages: scripts/rigs/install-deps.sh. Adapted from ../shared/research/rigs/*.sh (see rigs.md §2).
#
# Daemons listen on $LISTEN (default 127.0.0.1). SCAN FROM ANOTHER ADDRESS (127.0.0.2): Dovecot treats a
# client whose address equals its own as secured and then allows plaintext logins even where the config
# forbids them (rigs.md §2.1); Postfix's mynetworks is $LISTEN/32 for the same reason.
#
#   port   daemon            posture                                                     expected exposure
#   20025  postfix smtp      plain MX: no TLS, no AUTH                                   no TLS
#   20026  postfix smtp      STARTTLS (TLS>=1.2), AUTH only after TLS                    good
#   20027  postfix smtp      AUTH PLAIN LOGIN offered in cleartext, no TLS               cleartext auth, no TLS
#   20029  postfix smtp      STARTTLS TLS>=1.0, RSA-1024/SHA-1 expired cert, AUTH in     cleartext auth, TLS1.0/1.1,
#                            cleartext too                                               expired, weak key
#   20587  postfix submission STARTTLS required, AUTH after TLS                          good
#   20465  postfix smtps     implicit TLS (wrapper mode), AUTH                           good (self-signed)
#   20143  dovecot imap      no TLS, plaintext auth allowed                              cleartext auth, no TLS
#   20110  dovecot pop3      no TLS, USER/PASS and SASL PLAIN allowed                    cleartext auth, no TLS
#   21143  dovecot imap      STARTTLS, LOGINDISABLED until TLS                           good (self-signed)
#   21110  dovecot pop3      STLS, no USER and no SASL mechanism until TLS               good (self-signed)
#   20993  dovecot imaps     implicit TLS, self-signed RSA-2048 certificate              self-signed
#   20995  dovecot pop3s     implicit TLS, self-signed RSA-2048 certificate              self-signed
#   21993  dovecot imaps     implicit TLS>=1.2, RSA-1024/SHA-1 certificate expired 2021  expired, weak key
#   21995  dovecot pop3s     same                                                        expired, weak key
#   22143  dovecot imap      STARTTLS, plaintext auth allowed before it, TLS>=1.0        cleartext auth, TLS1.0/1.1
#   22110  dovecot pop3      same                                                        cleartext auth, TLS1.0/1.1
#   22993  dovecot imaps     implicit TLS>=1.0                                           TLS1.0/1.1
#   22995  dovecot pop3s     same                                                        TLS1.0/1.1
#   20873  rsync daemon      [public] listable, anonymous; [private] listable, user      open module
#                            bw/bwpass; [hidden] anonymous, not listed
#   20345  dovecot auth      SASL for Postfix (not a scan target)
#
# The certificates: good = RSA-2048 SHA-256 self-signed, 30 days, SAN mail.seawall.test, localhost,
# 127.0.0.1; weak = RSA-1024 SHA-1 self-signed, valid 2020-01-01..2021-01-01 (expired).
# Users: alice/alicepw (IMAP, POP3, SMTP AUTH), bw/bwpass (rsync). Nothing is ever delivered: every
# Postfix transport is discard:.
set -euo pipefail

cmd=${1:-}
DIR=${2:-${RIG:-/tmp/seawall-rig}}
LISTEN=${LISTEN:-127.0.0.1}
SASL_PORT=20345

say() { echo "mail-rig: $*" >&2; }
die() { say "$*"; exit 1; }

# Ports a scanner should find (the SASL port is not a target).
PORTS_SMTP="20025 20026 20027 20029 20587 20465"
PORTS_DOVECOT="20143 20110 21143 21110 20993 20995 21993 21995 22143 22110 22993 22995"
PORT_RSYNC=20873

# is_open HOST PORT: something accepts TCP connections there.
is_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# wait_line HOST PORT REGEX TIMEOUT_S: reconnect until the first line a server sends matches REGEX.
# (Right after a start Dovecot can greet with "Waiting for authentication process to respond..".)
wait_line() {
  local end=$((SECONDS + $4)) line
  while [ $SECONDS -lt "$end" ]; do
    line=$(timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2 && head -n1 <&3" 2>/dev/null || true)
    if printf '%s' "$line" | grep -Eq "$3"; then return 0; fi
    sleep 0.1
  done
  die "timed out waiting for $1:$2 to greet with /$3/ (last: ${line:-nothing}); logs are under $DIR"
}

# stop_pid PID: SIGTERM, then wait until the process is gone (a zombie counts as gone: PID 1 here may not
# reap daemonized processes, rigs.md §2.3), SIGKILL after 10 s.
stop_pid() {
  local pid=$1 st i
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 100); do
    st=$(ps -o stat= -p "$pid" 2>/dev/null || true)
    case $st in '' | Z*) return 0 ;; esac
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

record_pid() { # name pidfile: daemons write it after forking, so give them up to 10 s
  local pid="" end=$((SECONDS + 10))
  while :; do
    if [ -s "$2" ]; then pid=$(tr -d ' \n' <"$2"); fi
    [ -z "$pid" ] || break
    [ $SECONDS -lt $end ] || die "$1 did not write its pid file $2"
    sleep 0.05
  done
  echo "$1 $pid" >>"$DIR/pids"
}

certs() {
  local T=$DIR/tls W
  mkdir -p "$T"
  if [ ! -f "$T/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -sha256 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 30 \
      -subj "/CN=mail.seawall.test" \
      -addext "subjectAltName=DNS:mail.seawall.test,DNS:localhost,IP:127.0.0.1" 2>/dev/null
  fi
  if [ ! -f "$T/weak-cert.pem" ]; then
    # `req -x509` cannot backdate: sign with `openssl ca -selfsign` and explicit dates instead.
    W=$(mktemp -d)
    touch "$W/index.txt"
    echo 01 >"$W/serial"
    printf '[ca]\ndefault_ca = w\n[w]\ndir = %s\ndatabase = $dir/index.txt\nserial = $dir/serial\nnew_certs_dir = $dir\ndefault_md = sha1\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n' "$W" >"$W/ca.cnf"
    openssl req -new -newkey rsa:1024 -nodes -keyout "$T/weak-key.pem" -subj "/CN=weak.seawall.test" \
      -out "$W/weak.csr" 2>/dev/null
    openssl ca -batch -config "$W/ca.cnf" -selfsign -keyfile "$T/weak-key.pem" -in "$W/weak.csr" -notext \
      -startdate 20200101000000Z -enddate 20210101000000Z -out "$T/weak-cert.pem" 2>/dev/null
    rm -rf "$W"
  fi
  chmod 600 "$T/key.pem" "$T/weak-key.pem"
}

# dovecot_conf NAME SSL DISABLE_PLAINTEXT_AUTH IMAP POP3 IMAPS POP3S CERT KEY [EXTRA]
dovecot_conf() {
  local n=$1 D=$DIR/dovecot
  mkdir -p "$D/$n/run" "$D/$n/state"
  cat >"$D/$n/dovecot.conf" <<CONF
instance_name = seawall-$n
base_dir = $D/$n/run
state_dir = $D/$n/state
protocols = imap pop3
listen = $LISTEN
log_path = $D/$n/dovecot.log
ssl = $2
ssl_cert = <$8
ssl_key = <$9
# without DH parameters Dovecot drops DHE handshakes (rigs.md §2.3)
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = $3
auth_mechanisms = plain login
mail_location = maildir:$D/mail/%u
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$D/mail/%u
}
service imap-login {
  inet_listener imap {
    port = $4
  }
  inet_listener imaps {
    port = $6
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $5
  }
  inet_listener pop3s {
    port = $7
  }
}
${10:-}
CONF
}

start_dovecot() {
  local D=$DIR/dovecot G W OLD SECLOW SASL n
  mkdir -p "$D/mail"
  chown 65534:65534 "$D/mail"
  printf 'alice:{PLAIN}alicepw\nbob:{PLAIN}bobpw\n' >"$D/users"
  G="$DIR/tls/cert.pem $DIR/tls/key.pem"
  W="$DIR/tls/weak-cert.pem $DIR/tls/weak-key.pem"
  # TLS 1.0/1.1 need security level 0 with OpenSSL 3; so does loading an RSA-1024/SHA-1 certificate.
  OLD="ssl_min_protocol = TLSv1
ssl_cipher_list = ALL:@SECLEVEL=0
ssl_prefer_server_ciphers = no"
  SECLOW="ssl_min_protocol = TLSv1.2
ssl_cipher_list = DEFAULT:@SECLEVEL=0"
  SASL="service auth {
  inet_listener {
    address = $LISTEN
    port = $SASL_PORT
  }
}"
  #            name     ssl      dpa imap  pop3  imaps pop3s cert/key extra
  # shellcheck disable=SC2086
  dovecot_conf plain    no       no  20143 20110 0     0     $G "$SASL"
  # shellcheck disable=SC2086
  dovecot_conf starttls yes      yes 21143 21110 0     0     $G
  # shellcheck disable=SC2086
  dovecot_conf tls      required yes 0     0     20993 20995 $G
  # shellcheck disable=SC2086
  dovecot_conf expired  required yes 0     0     21993 21995 $W "$SECLOW"
  # shellcheck disable=SC2086
  dovecot_conf weak     yes      no  22143 22110 22993 22995 $G "$OLD"
  for n in plain starttls tls expired weak; do
    dovecot -c "$D/$n/dovecot.conf" </dev/null >>"$DIR/daemons.out" 2>&1 || die "dovecot $n did not start (see $D/$n/dovecot.log)"
    record_pid "dovecot-$n" "$D/$n/run/master.pid"
  done
  for p in 20143 21143 22143; do wait_line "$LISTEN" $p 'Dovecot.* ready' 30; done
  for p in 20110 21110 22110; do wait_line "$LISTEN" $p '^\+OK' 30; done
  for p in 20993 20995 21993 21995 22993 22995 $SASL_PORT; do wait_open $p; done
}

wait_open() {
  local end=$((SECONDS + 30))
  until is_open "$LISTEN" "$1"; do
    [ $SECONDS -lt $end ] || die "nothing listens on $LISTEN:$1 after 30 s"
    sleep 0.1
  done
}

start_postfix() {
  local P=$DIR/postfix C=$DIR/postfix/etc L=$LISTEN
  mkdir -p "$C" "$P/spool" "$P/data"
  chown postfix: "$P/data"
  cat >"$C/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
maillog_file_prefixes = /var, /dev/stdout, /tmp
maillog_file = $P/maillog
myhostname = mail.seawall.test
mydomain = seawall.test
myorigin = \$mydomain
mydestination = \$myhostname, localhost
inet_interfaces = $L
inet_protocols = ipv4
mynetworks = $L/32
smtpd_banner = \$myhostname ESMTP Postfix (Debian/GNU)
alias_maps =
alias_database =
biff = no
# a scan target, not a mail system: nothing is ever delivered anywhere
default_transport = discard:delivery disabled in seawall rig
relay_transport = discard:delivery disabled in seawall rig
local_transport = discard:delivery disabled in seawall rig
smtp_dns_support_level = disabled
smtpd_tls_cert_file = $DIR/tls/cert.pem
smtpd_tls_key_file = $DIR/tls/key.pem
smtpd_tls_security_level = none
# Debian's default allows TLS 1.0/1.1 and anonymous suites: the good ports must not (rigs.md §2.4)
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_exclude_ciphers = aNULL, eNULL
smtpd_tls_mandatory_exclude_ciphers = aNULL, eNULL
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:$L:$SASL_PORT
smtpd_sasl_auth_enable = no
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated reject_unauth_destination
CONF
  local GOOD="-o smtpd_tls_security_level=may -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes"
  local WEAK="-o smtpd_tls_security_level=may -o smtpd_sasl_auth_enable=yes -o smtpd_tls_protocols=>=TLSv1 -o smtpd_tls_mandatory_protocols=>=TLSv1 -o smtpd_tls_exclude_ciphers= -o tls_low_cipherlist=ALL:@SECLEVEL=0 -o smtpd_tls_ciphers=low -o smtpd_tls_cert_file=$DIR/tls/weak-cert.pem -o smtpd_tls_key_file=$DIR/tls/weak-key.pem"
  local SUB="-o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
  local SUBS="-o syslog_name=postfix/submissions -o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
  cat >"$C/master.cf" <<CONF
$L:20025 inet n - n - - smtpd
$L:20026 inet n - n - - smtpd $GOOD
$L:20027 inet n - n - - smtpd -o smtpd_sasl_auth_enable=yes
$L:20029 inet n - n - - smtpd $WEAK
$L:20587 inet n - n - - smtpd $SUB
$L:20465 inet n - n - - smtpd $SUBS
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CONF
  # Postfix reports fatal errors only to syslog (there is none) or a tty: script(1) provides the tty.
  script -qec "postfix -c $C check" /dev/null </dev/null >"$P/check.out" 2>&1 || die "postfix check failed: $(cat "$P/check.out")"
  script -qec "postfix -c $C start" /dev/null </dev/null >"$P/start.out" 2>&1 || die "postfix start failed: $(cat "$P/start.out")"
  record_pid postfix "$P/spool/pid/master.pid"
  for p in 20025 20026 20027 20029 20587; do wait_line "$LISTEN" $p '^220 ' 30; done
  wait_open 20465
}

start_rsync() {
  local R=$DIR/rsync
  mkdir -p "$R/public/etc" "$R/private" "$R/hidden"
  echo "root:x:0:0:root:/root:/bin/bash" >"$R/public/etc/passwd.sample"
  echo "backup of mailbox db" >"$R/private/mailbox.edb.txt"
  echo hidden >"$R/hidden/readme.txt"
  printf 'bw:bwpass\n' >"$R/rsyncd.secrets"
  chmod 600 "$R/rsyncd.secrets"
  echo "seawall rsync rig" >"$R/motd"
  cat >"$R/rsyncd.conf" <<CONF
pid file = $R/rsyncd.pid
log file = $R/rsyncd.log
lock file = $R/rsyncd.lock
use chroot = no
uid = nobody
gid = nogroup
max connections = 200
motd file = $R/motd
[public]
  path = $R/public
  comment = Public mirror (anonymous)
  read only = yes
  list = yes
[private]
  path = $R/private
  comment = Exchange backups (auth)
  read only = yes
  list = yes
  auth users = bw
  secrets file = $R/rsyncd.secrets
[hidden]
  path = $R/hidden
  comment = not listed
  list = no
CONF
  rm -f "$R/rsyncd.pid"
  rsync --daemon --config="$R/rsyncd.conf" --address="$LISTEN" --port=$PORT_RSYNC </dev/null >>"$DIR/daemons.out" 2>&1 || die "rsync --daemon failed"
  record_pid rsync "$R/rsyncd.pid"
  wait_line "$LISTEN" $PORT_RSYNC '^@RSYNCD:' 10
}

# Every PID the rig started: those recorded in DIR/pids, plus any pid file a daemon of this DIR wrote
# before its start could be recorded (a start that failed half-way).
rig_pids() {
  local f
  [ -f "$DIR/pids" ] && cat "$DIR/pids"
  for f in "$DIR"/dovecot/*/run/master.pid "$DIR/postfix/spool/pid/master.pid" "$DIR/rsync/rsyncd.pid"; do
    [ -s "$f" ] && echo "pidfile $(tr -d ' \n' <"$f")"
  done
  return 0
}

down() {
  local name pid
  # Reverse start order: postfix needs dovecot's SASL, so it goes first.
  rig_pids | tac | awk '!seen[$2]++' | while read -r name pid; do
    [ -n "$pid" ] || continue
    stop_pid "$pid"
  done
  rm -f "$DIR/pids" "$DIR"/dovecot/*/run/master.pid "$DIR/postfix/spool/pid/master.pid" "$DIR/rsync/rsyncd.pid"
}

case $cmd in
up)
  for tool in postfix dovecot rsync openssl; do
    command -v $tool >/dev/null 2>&1 || die "$tool is not installed: run scripts/rigs/install-deps.sh"
  done
  [ "$(id -u)" = 0 ] || die "must run as root (Postfix and Dovecot drop privileges to their own users)"
  mkdir -p "$DIR"
  down # a previous run of this DIR that was not stopped
  for p in $PORTS_SMTP $PORTS_DOVECOT $PORT_RSYNC $SASL_PORT; do
    ! is_open "$LISTEN" "$p" || die "$LISTEN:$p is already in use (another rig? stop it with: $0 down DIR)"
  done
  : >"$DIR/pids"
  ok=0
  trap '[ $ok = 1 ] || { say "start failed: stopping what was started"; down; }' EXIT
  certs
  start_dovecot
  start_postfix
  start_rsync
  ok=1
  say "up in $DIR on $LISTEN ($(wc -l <"$DIR/pids") daemons, PIDs in $DIR/pids)"
  ;;
down)
  down
  ;;
ports)
  echo "smtp 20025 20026 20027 20029"
  echo "submission 20587"
  echo "smtps 20465"
  echo "imap 20143 21143 22143"
  echo "pop3 20110 21110 22110"
  echo "imaps 20993 21993 22993"
  echo "pop3s 20995 21995 22995"
  echo "rsync $PORT_RSYNC"
  ;;
*)
  echo "usage: $0 up|down|ports [DIR]   (env: LISTEN, default 127.0.0.1)" >&2
  exit 2
  ;;
esac
