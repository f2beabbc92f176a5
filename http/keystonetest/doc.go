// Package keystonetest holds keel's tests against a real Keystone (Debian's
// python3-keystone, started once for the package by systemtest.SharedKeystone):
// Octavia's default policy checked rule by rule with each persona's token, the
// 401s of missing, garbage, expired and revoked tokens, the validation cache,
// and the openstack CLI authenticating with a password against a catalog whose
// load-balancer endpoint is keeld.
package keystonetest
