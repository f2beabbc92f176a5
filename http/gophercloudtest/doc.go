// Package gophercloudtest holds keel's end-to-end tests through a real OpenStack
// client: gophercloud's openstack/loadbalancer/v2 packages, driving a real keeld
// process, as a Go user of Octavia would. The shared set-up lives in setup_test.go;
// each resource has its own test file.
package gophercloudtest
