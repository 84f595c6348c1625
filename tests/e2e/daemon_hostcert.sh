#!/usr/bin/env bash
# Host certificates end to end: the daemon presents HostCertificate files made
# by `ssh-keygen -s -h` at test time, and OpenSSH clients that know only the
# CA (an @cert-authority line in known_hosts, StrictHostKeyChecking=yes)
# accept it for each host key type; a wrong CA, a certificate for another
# host name, an expired one and a user certificate offered as a host
# certificate are refused (at the client, or by the daemon at start-up).
#   tests/e2e/daemon_hostcert.sh [BUILD_DIR]
# Prints "daemon_hostcert: N passed, N failed".
set -u
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_hostcert "${1:-build}"

daemon_keys || exit 1
ssh-keygen -q -t ed25519 -N '' -C host-ca -f "$T/host_ca" || exit 1
ssh-keygen -q -t ed25519 -N '' -C other-ca -f "$T/other_ca" || exit 1
for t in ed25519 ecdsa rsa; do
	ssh-keygen -q -s "$T/host_ca" -h -I "host-$t" -n "$ADDR,sshterm.test" -V -5m:+1h \
		"$T/host_$t.pub" || exit 1
done
echo "@cert-authority $ADDR $(cut -d' ' -f1,2 "$T/host_ca.pub")" > "$T/ca_known_hosts"
echo "@cert-authority $ADDR $(cut -d' ' -f1,2 "$T/other_ca.pub")" > "$T/other_known_hosts"

daemon_config "HostCertificate $T/host_ed25519-cert.pub" "HostCertificate $T/host_ecdsa-cert.pub" \
	"HostCertificate $T/host_rsa-cert.pub" "DefaultService echo"
EALT=(--no-huge -m 64 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" --log-level=lib.eal:error)
"$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/sshterm.conf" -t 2>"$T/t.err" | grep -q "configuration OK" &&
	ok "-t accepts three host certificates" || bad "-t with host certificates" "$(cat "$T/t.err")"

# Bad certificates are configuration errors that name the file.
ssh-keygen -q -s "$T/host_ca" -I user-cert -n alice "$T/id_user.pub" || exit 1
ssh-keygen -q -t ed25519 -N '' -f "$T/stray" || exit 1
ssh-keygen -q -s "$T/host_ca" -h -I stray -n "$ADDR" "$T/stray.pub" || exit 1
printf 'ssh-ed25519-cert-v01@openssh.com AAAAgarbage\n' > "$T/garbage-cert.pub"
for c in "id_user-cert.pub:not a host certificate" "stray-cert.pub:matches no HostKey" \
	"garbage-cert.pub:" "missing-cert.pub:No such file"; do
	f=${c%%:*} want=${c#*:}
	sed "s#^HostCertificate $T/host_ed25519-cert.pub#HostCertificate $T/$f#" "$T/sshterm.conf" > "$T/bad.conf"
	if "$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/bad.conf" -t >/dev/null 2>"$T/b.err"; then
		bad "HostCertificate $f is refused"
	elif grep -q "$f" "$T/b.err" && grep -q "$want" "$T/b.err"; then
		ok "HostCertificate $f is refused: $(head -c 120 "$T/b.err" | sed "s#$T/##g")"
	else
		bad "HostCertificate $f message" "$(cat "$T/b.err")"
	fi
done

start_daemon || { bad "daemon start"; finish; }
for a in ssh-ed25519-cert-v01@openssh.com ecdsa-sha2-nistp256-cert-v01@openssh.com \
	rsa-sha2-512-cert-v01@openssh.com rsa-sha2-256-cert-v01@openssh.com; do
	out=$(echo hi | KNOWN_HOSTS=$T/ca_known_hosts sshc alice "$T/id_user" -o HostKeyAlgorithms=$a -v echo 2>&1)
	# ssh names the certificate by its key type (ssh-rsa-cert-v01 for both RSA
	# signature algorithms), the negotiated algorithm on the kex line.
	ktype=${a/rsa-sha2-*-cert/ssh-rsa-cert}
	if echo "$out" | grep -q "kex: host key algorithm: $a" &&
		echo "$out" | grep -q "Server host certificate: $ktype" &&
		echo "$out" | grep -q "Host '$ADDR' is known and matches the .* host certificate"; then
		ok "client verifies $a through @cert-authority"
	else
		bad "$a through @cert-authority" "$(echo "$out" | grep -iE 'cert|host key|denied' | tail -3)"
	fi
done
# The default preference of a current client picks a certificate.
KNOWN_HOSTS=$T/ca_known_hosts sshc alice "$T/id_user" echo </dev/null 2>/dev/null && ok "default algorithms log in with only the CA known" ||
	bad "default algorithms with only the CA known"
# Hostbound publickey (OpenSSH 8.9+) binds to the certificate the client saw
# (ssh names the method it signs with at debug3).
out=$(KNOWN_HOSTS=$T/ca_known_hosts sshc alice "$T/id_user" -vvv echo </dev/null 2>&1)
echo "$out" | grep -q "publickey-hostbound-v00@openssh.com" && echo "$out" | grep -q "Authenticated to" &&
	ok "publickey-hostbound authenticates over a certificate host key" ||
	bad "hostbound over a certificate" "$(echo "$out" | tail -3)"
KNOWN_HOSTS=$T/other_known_hosts sshc alice "$T/id_user" echo </dev/null 2>/dev/null &&
	bad "a certificate from another CA is refused" || ok "a certificate from another CA is refused"
# Without certificate algorithms the plain keys are still there.
sshc alice "$T/id_user" -o HostKeyAlgorithms=ssh-ed25519 echo </dev/null 2>/dev/null &&
	ok "plain host keys still offered" || bad "plain host keys still offered"
sleep 4 | KNOWN_HOSTS=$T/ca_known_hosts sshc alice "$T/id_user" -o HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com echo >/dev/null &
held=$!
PIDS+=("$held")
for _ in $(seq 1 30); do ctl sessions 2>/dev/null | grep -q alice && break; sleep 0.2; done
ctl sessions 2>/dev/null | grep -q "ssh-ed25519-cert-v01@openssh.com" &&
	ok "sshtermctl sessions names the certificate host key algorithm" ||
	bad "sessions names the cert algorithm" "$(ctl sessions 2>&1 | tail -2)"
wait "$held" # only the client: a bare wait would wait for the daemon too
stop_daemon

# A certificate for another name, and an expired one: the client refuses them.
ssh-keygen -q -s "$T/host_ca" -h -I wrong-name -n other.test "$T/host_ed25519.pub" || exit 1
daemon_config "HostCertificate $T/host_ed25519-cert.pub" "DefaultService echo"
start_daemon || { bad "daemon start (wrong name)"; finish; }
KNOWN_HOSTS=$T/ca_known_hosts sshc alice "$T/id_user" -o HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com echo </dev/null 2>/dev/null &&
	bad "a certificate for another host name is refused" || ok "a certificate for another host name is refused"
stop_daemon
ssh-keygen -q -s "$T/host_ca" -h -I expired -n "$ADDR" -V 20200101:20200102 "$T/host_ed25519.pub" || exit 1
start_daemon || { bad "daemon start (expired)"; finish; }
KNOWN_HOSTS=$T/ca_known_hosts sshc alice "$T/id_user" -o HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com echo </dev/null 2>/dev/null &&
	bad "an expired host certificate is refused" || ok "an expired host certificate is refused"
stop_daemon
finish
