#!/usr/bin/env bash
# User certificates end to end: OpenSSH's ssh logs in with certificates made by
# `ssh-keygen -s` at test time, trusted through TrustedUserCAKeys (Ed25519 and
# RSA CAs) or a cert-authority line with principals= in authorized_keys, and
# with AuthorizedPrincipalsFile; expired, not-yet-valid, wrong-principal,
# source-address-mismatch, unknown-critical-option, untrusted-CA and
# KRL-revoked (RevokedKeys from ssh-keygen -k: serial, key id, plain key)
# certificates and keys are refused, each counted; force-command picks the service and
# a certificate without permit-port-forwarding gets no direct-tcpip, one
# without permit-pty no pty.
#   tests/e2e/daemon_usercert.sh [BUILD_DIR]
# Prints "daemon_usercert: N passed, N failed".
set -u
. "$(dirname "$0")/lib/daemon.sh"
daemon_init daemon_usercert "${1:-build}"

daemon_keys || exit 1
ssh-keygen -q -t ed25519 -N '' -C user-ca -f "$T/ca_ed" || exit 1
ssh-keygen -q -t rsa -b 3072 -N '' -C user-ca-rsa -f "$T/ca_rsa" || exit 1
ssh-keygen -q -t ed25519 -N '' -C ak-ca -f "$T/ca_ak" || exit 1
ssh-keygen -q -t ed25519 -N '' -C untrusted-ca -f "$T/ca_other" || exit 1
cat "$T/ca_ed.pub" "$T/ca_rsa.pub" > "$T/trusted_cas"
# bob trusts ca_ak for the principal "ops" only (his plain key is nowhere).
echo "cert-authority,principals=\"ops\" $(cat "$T/ca_ak.pub")" > "$T/ak/bob"

# mk NAME CA [ssh-keygen -s options...]: a fresh key $T/c_NAME and its certificate.
mk() {
	local n=$1 ca=$2
	shift 2
	ssh-keygen -q -t ed25519 -N '' -f "$T/c_$n" || exit 1
	ssh-keygen -q -s "$T/$ca" -I "id-$n" -z 7 "$@" "$T/c_$n.pub" || exit 1
}
mk good ca_ed -n alice -V -5m:+1h
mk rsaca ca_rsa -n alice
mk expired ca_ed -n alice -V 20200101:20200102
mk future ca_ed -n alice -V +1d:+2d
mk wrongp ca_ed -n mallory
mk noprinc ca_ed
mk srcbad ca_ed -n alice -O source-address=10.0.0.0/8
mk srcok ca_ed -n alice -O source-address="$PEER/32,fd00::/8"
mk crit ca_ed -n alice -O critical:foo=bar
mk forced ca_ed -n alice -O force-command=sink
mk nofwd ca_ed -n alice -O no-port-forwarding
mk nopty ca_ed -n alice -O no-pty
mk untrusted ca_other -n alice
mk ops ca_ak -n ops
mk dev ca_ak -n dev
mk revserial ca_ed -n alice -z 99
mk revid ca_ed -n alice
# A KRL (ssh-keygen -k) revoking serial 99 and key id id-revid under ca_ed, and alice's plain ECDSA key.
{ echo "serial: 99"; echo "id: id-revid"; echo "key: $(cat "$T/id_ecdsa.pub")"; } > "$T/krl.spec"
ssh-keygen -q -k -f "$T/krl" -s "$T/ca_ed.pub" "$T/krl.spec" || exit 1

daemon_config "TrustedUserCAKeys $T/trusted_cas" "RevokedKeys $T/krl" "DefaultService echo" "PermitOpen any" \
	"Service db $PEER:7001 proxy-protocol=v2"
EALT=(--no-huge -m 64 --no-pci --no-shconf --file-prefix "$DPDK_PREFIX_CHECK" --log-level=lib.eal:error)
"$BIN/sshterm" "${EALT[@]}" -- -e -f "$T/sshterm.conf" -T >"$T/dump" 2>/dev/null
grep -q "^trustedusercakeys $T/trusted_cas$" "$T/dump" &&
	ok "-T prints trustedusercakeys" || bad "-T trustedusercakeys"
start_daemon || { bad "daemon start"; finish; }

# login NAME USER: echo through the certificate's session; 0 when "hi" came back.
login() { [ "$(echo hi | sshc "$2" "$T/c_$1" echo 2>/dev/null)" = hi ]; }
counter() { daemon_stat "control.$1" 2>/dev/null || echo 0; }

login good alice && ok "valid certificate (Ed25519 CA) logs in" || bad "valid certificate"
grep -q "Accepted publickey for alice from $PEER port [0-9]* ssh2: ED25519-CERT SHA256:[^ ]* ID id-good (serial 7) CA ED25519 SHA256:" "$T/daemon.log" &&
	ok "sshd-style Accepted line names the certificate and its CA" ||
	bad "Accepted line" "$(grep Accepted "$T/daemon.log" | tail -1)"
# A proxy-protocol=v2 backend learns which certificate logged in: TLVs 0xE3 (the certificate's
# SHA256 fingerprint, computed here from the -cert.pub blob) and 0xE4 (its key id).
nsx python3 "$ROOT/tests/e2e/pp_backend.py" "$PEER" 7001 "$T/backend.out" &
PIDS+=($!)
for _ in $(seq 1 50); do nsx ss -ltn 2>/dev/null | grep -q ":7001 " && break; sleep 0.1; done
KFP=$(ssh-keygen -lf "$T/c_good.pub" | awk '{print $2}')
CFP=$(python3 -c 'import base64,hashlib,sys; b=base64.b64decode(open(sys.argv[1]).read().split()[1]); print("SHA256:"+base64.b64encode(hashlib.sha256(b).digest()).decode().rstrip("="))' "$T/c_good-cert.pub")
out=$(echo backend-data | sshc alice "$T/c_good" db 2>&1)
check "a certificate login reaches a proxy-protocol=v2 backend" "$out" "backend-data"
l=$(sed -n 1p "$T/backend.out" 2>/dev/null)
case $l in "ok $PEER "*" 22 e0=alice e1=$KFP e2=db e3=$CFP e4=id-good") ok "the backend's header names the certificate ($l)" ;;
*) bad "certificate TLVs to the backend" "$l (want e1=$KFP e3=$CFP e4=id-good)" ;; esac
login rsaca alice && ok "certificate from an RSA CA (rsa-sha2-512) logs in" || bad "RSA CA"
grep -q "ID id-rsaca (serial 7) CA RSA SHA256:" "$T/daemon.log" && ok "RSA CA named in the log" ||
	bad "RSA CA log line"

# refused NAME USER COUNTER WHAT
refused() {
	local before after
	before=$(counter "$3")
	if login "$1" "$2"; then
		bad "$4 is refused"
		return
	fi
	after=$(counter "$3")
	[ "$after" -gt "$before" ] && ok "$4 is refused ($3 $before -> $after)" ||
		bad "$4 counted in $3" "$before -> $after"
}
refused expired alice AUTH_CERT_EXPIRED "an expired certificate"
refused future alice AUTH_CERT_NOT_YET_VALID "a not-yet-valid certificate"
refused wrongp alice AUTH_CERT_PRINCIPAL "a certificate for another principal"
refused noprinc alice AUTH_CERT_PRINCIPAL "a certificate without principals (TrustedUserCAKeys)"
refused srcbad alice AUTH_CERT_SOURCE "a source-address mismatch"
refused crit alice AUTH_CERT_OPTION "an unknown critical option"
refused untrusted alice AUTH_CERT_CA_UNTRUSTED "a certificate from an untrusted CA"
login srcok alice && ok "source-address listing the client logs in" || bad "source-address match"
refused revserial alice AUTH_CERT_REVOKED "a certificate whose serial the KRL revokes"
refused revid alice AUTH_CERT_REVOKED "a certificate whose key id the KRL revokes"
b=$(counter AUTH_KEY_REVOKED)
if [ "$(echo hi | sshc alice "$T/id_ecdsa" echo 2>/dev/null)" = hi ]; then
	bad "a plain key the KRL revokes is refused"
elif [ "$(counter AUTH_KEY_REVOKED)" -gt "$b" ]; then
	ok "a plain key the KRL revokes is refused (AUTH_KEY_REVOKED $b -> $(counter AUTH_KEY_REVOKED))"
else
	bad "plain key refusal counted in AUTH_KEY_REVOKED" "$b -> $(counter AUTH_KEY_REVOKED)"
fi
[ "$(echo hi | sshc alice "$T/id_user" echo 2>/dev/null)" = hi ] && ok "a plain key the KRL does not list logs in" ||
	bad "plain key not revoked"

# force-command picks the service: sink answers "<bytes> <sha256>" instead of echoing.
out=$(echo hi | sshc alice "$T/c_forced" echo 2>/dev/null)
[ "$out" = "3 $(echo hi | sha256sum | cut -d' ' -f1)" ] && ok "force-command=sink is honoured" ||
	bad "force-command" "got '$out'"

# permit-port-forwarding governs direct-tcpip (the echo server in the namespace stands in for a target).
nsx python3 "$ROOT/tests/e2e/echo_server.py" "$PEER" 7007 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
fwd() { echo fwd | sshc alice "$T/c_$1" -W "$PEER:7007" 2>/dev/null; }
[ "$(fwd good)" = fwd ] && ok "direct-tcpip with permit-port-forwarding" || bad "direct-tcpip allowed"
[ "$(fwd nofwd)" = fwd ] && bad "no-port-forwarding certificate gets no direct-tcpip" ||
	ok "no-port-forwarding certificate gets no direct-tcpip"

# permit-pty governs pty-req: ssh -tt reports the refusal and carries on.
pty() { echo hi | sshc alice "$T/c_$1" -tt echo 2>&1 >/dev/null | grep -c "PTY allocation request failed"; }
[ "$(pty good)" = 0 ] && ok "pty with permit-pty" || bad "pty allowed"
[ "$(pty nopty)" = 1 ] && ok "no-pty certificate gets no pty" || bad "no-pty certificate" "$(pty nopty)"

# cert-authority,principals="ops" in bob's authorized_keys.
login ops bob && ok "cert-authority line with principals= logs in" || bad "cert-authority principals="
refused dev bob AUTH_CERT_PRINCIPAL "a principal outside the line's principals="
refused good bob AUTH_CERT_PRINCIPAL "a TrustedUserCAKeys certificate for alice used by bob"
refused untrusted bob AUTH_CERT_CA_UNTRUSTED "a CA on no cert-authority line"
stop_daemon

# AuthorizedPrincipalsFile: alice's file lists "ops-alice"; the user name no longer suffices.
mkdir -p "$T/princ"
echo "ops-alice" > "$T/princ/alice"
mk princ ca_ed -n ops-alice
daemon_config "TrustedUserCAKeys $T/trusted_cas" "AuthorizedPrincipalsFile $T/princ/%u" "DefaultService echo"
start_daemon || { bad "daemon start (principals file)"; finish; }
login princ alice && ok "AuthorizedPrincipalsFile principal logs in" || bad "principals file"
refused good alice AUTH_CERT_PRINCIPAL "the user name alone with AuthorizedPrincipalsFile"
stop_daemon
finish
