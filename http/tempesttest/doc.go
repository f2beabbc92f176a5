// Package tempesttest runs Octavia's own API test suite, octavia-tempest-plugin
// (Debian's tempest and octavia-tempest-plugin), against a real keeld, as
// Octavia's noop gate job runs it: one node, a real Keystone
// (systemtest.SharedKeystone) issuing the tokens of tempest's dynamic
// credentials, keeld validating them (-auth-strategy keystone) and running the
// noop amphora driver, tempest configured with test_with_noop.
//
// `make test` runs a slice of the suite (TestTempestSlice: a few classes, about a
// minute); `make tempest` runs all of octavia_tempest_plugin.tests.api.v2
// (TestTempestSuite, build tag tempest) and writes the passed, failed and skipped
// tests, with every skip's reason, to bench/results/tempest-<time>.md.
package tempesttest
