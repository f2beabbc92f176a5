#!/usr/bin/env bash
# Removes iptables chains left by chaos test processes that no longer run (a go
# test killed by its -timeout runs no cleanup). Chains are KEELCHAOS<pid> (filter)
# and KEELCHAOSM<pid> (mangle); see cluster/chaostest/iptables.go.
set -u
command -v iptables-save >/dev/null 2>&1 || exit 0
[ "$(id -u)" -eq 0 ] || exit 0
for c in $(iptables-save 2>/dev/null | sed -n 's/^:\(KEELCHAOSM\{0,1\}[0-9][0-9]*\) .*/\1/p' | sort -u); do
  pid=${c#KEELCHAOS}; pid=${pid#M}
  [ -d "/proc/$pid" ] && continue
  for t in filter mangle; do
    while iptables -w 5 -t "$t" -D OUTPUT -j "$c" 2>/dev/null; do :; done
    iptables -w 5 -t "$t" -F "$c" 2>/dev/null
    iptables -w 5 -t "$t" -X "$c" 2>/dev/null
  done
done
exit 0
