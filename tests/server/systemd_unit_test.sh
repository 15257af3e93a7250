#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The generated cvm-attestd.service: ExecStart names the program where meson
# installs it (prefix/sbindir), systemd-analyze verify accepts the unit (with
# ExecStart pointed at the built program, since nothing is installed here),
# and the sysusers.d file creates the account the unit runs as.
#
#   systemd_unit_test.sh UNIT SYSUSERS_CONF BUILT_CVM_ATTESTD EXPECTED_SBINDIR
set -eu
unit=$1 sysusers=$2 built=$(realpath "$3") sbindir=$4

for tool in systemd-analyze systemd-sysusers; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed (Debian package systemd)"
		exit 77
	fi
done
fail() { echo "FAIL: $*"; exit 1; }

grep -qx "ExecStart=$sbindir/cvm-attestd --config .*/cvm-attestd/cvm-attestd.conf" "$unit" ||
	fail "ExecStart does not run $sbindir/cvm-attestd: $(grep '^ExecStart=' "$unit")"
! grep -q '@[a-z]*@' "$unit" || fail "unsubstituted variables: $(grep '@[a-z]*@' "$unit")"
user=$(sed -n 's/^User=//p' "$unit")
[ -n "$user" ] || fail "no User="

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|^ExecStart=[^ ]*|ExecStart=$built|" "$unit" > "$tmp/cvm-attestd.service"
if ! systemd-analyze verify --man=no "$tmp/cvm-attestd.service" > "$tmp/verify.log" 2>&1; then
	cat "$tmp/verify.log"
	fail "systemd-analyze verify refused the unit"
fi
# Any complaint about our unit counts (lines about other units are the host's business).
if grep 'cvm-attestd.service' "$tmp/verify.log"; then
	fail "systemd-analyze verify warns about the unit"
fi

# The account the unit runs as is created by the sysusers.d file.
mkdir -p "$tmp/root/etc"
systemd-sysusers --root="$tmp/root" "$sysusers" || fail "systemd-sysusers refused $sysusers"
grep -q "^$user:" "$tmp/root/etc/passwd" || fail "$sysusers does not create user $user"
group=$(sed -n 's/^Group=//p' "$unit")
[ -z "$group" ] || grep -q "^$group:" "$tmp/root/etc/group" || fail "$sysusers does not create group $group"
echo "ok: ExecStart=$sbindir/cvm-attestd, systemd-analyze verify clean, sysusers creates $user"
