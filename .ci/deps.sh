#!/usr/bin/env bash
# Installs what keel's build and tests need on a fresh Debian 12 machine, once.
# Idempotent: packages already present are not reinstalled. Called by the Makefile.
set -euo pipefail

need=()
command -v haproxy    >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]    || need+=(haproxy)
command -v keepalived >/dev/null 2>&1 || [ -x /usr/sbin/keepalived ] || need+=(keepalived)
command -v protoc     >/dev/null 2>&1 || need+=(protobuf-compiler)
command -v ip         >/dev/null 2>&1 || [ -x /usr/sbin/ip ]         || need+=(iproute2)
command -v openssl    >/dev/null 2>&1 || need+=(openssl)
# The chaos suite's partitions (cluster/chaostest): iptables with owner/connmark matches.
command -v iptables   >/dev/null 2>&1 || [ -x /usr/sbin/iptables ]   || need+=(iptables)
# The openstack CLI with the Octavia plugin: the README's client, tested in CI.
command -v openstack  >/dev/null 2>&1 || need+=(python3-openstackclient)
/usr/bin/python3 -c 'import octaviaclient' >/dev/null 2>&1 || need+=(python3-octaviaclient)
# ... and its Blazar plugin (`openstack reservation …`, the Blazar listener's client).
/usr/bin/python3 -c 'import blazarclient' >/dev/null 2>&1 || need+=(python3-blazarclient)
# A real Keystone for the tests of -auth-strategy keystone (http/keystonetest):
# Debian's Keystone itself (keystone-manage, the WSGI application), without the
# `keystone` service package, which would configure a database through debconf
# and start a system-wide Keystone on port 5000.
[ -x /usr/bin/keystone-manage ] || need+=(python3-keystone)
# Octavia's own API test suite (http/tempesttest: a slice in make test, all of it
# in make tempest).
[ -x /usr/bin/tempest ] || need+=(tempest)
/usr/bin/python3 -c 'import octavia_tempest_plugin' >/dev/null 2>&1 || need+=(octavia-tempest-plugin)

# Real BMCs for the bare-metal power tests (actors/power, Mogan's system tests):
# OpenIPMI's BMC simulator, and ipmitool, the ipmi power driver's client.
command -v ipmi_sim   >/dev/null 2>&1 || need+=(openipmi)
command -v ipmitool   >/dev/null 2>&1 || need+=(ipmitool)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
