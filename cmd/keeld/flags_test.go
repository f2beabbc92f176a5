package main

import (
	"strings"
	"testing"
	"time"
)

// The identity flags: -noauth-admin only on loopback, keystone needs its URL and
// service credentials, and an unknown strategy is refused at start.
func TestIdentityFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string // "" for accepted
	}{
		{args: nil},
		{args: []string{"-noauth-admin"}},
		{args: []string{"-noauth-admin", "-http-addr", "127.0.0.7:9876"}},
		{args: []string{"-noauth-admin", "-http-addr", "[::1]:9876"}},
		{args: []string{"-noauth-admin", "-http-addr", "0.0.0.0:9876"}, err: "loopback"},
		{args: []string{"-noauth-admin", "-http-addr", "10.0.0.1:9876"}, err: "loopback"},
		{args: []string{"-auth-strategy", "keystone"}, err: "Keystone URL"},
		{args: []string{"-auth-strategy", "keystone", "-keystone-url", "http://k:5000/v3"}, err: "service user"},
		{args: []string{"-auth-strategy", "keystone", "-keystone-url", "http://k:5000/v3", "-keystone-user", "octavia",
			"-keystone-password", "pw", "-http-addr", "0.0.0.0:9876"}},
		{args: []string{"-auth-strategy", "keystone", "-keystone-url", "http://k:5000", "-keystone-user", "octavia",
			"-keystone-password", "pw", "-keystone-cafile", "/nonexistent"}, err: "CA file"},
		{args: []string{"-auth-strategy", "ldap"}, err: "unknown auth strategy"},
	} {
		_, err := parseFlags(tc.args)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v: %v, want an error about %q", tc.args, err, tc.err)
		}
	}
}

func TestIdentityFlagsFromEnvironment(t *testing.T) {
	t.Setenv("KEEL_AUTH_STRATEGY", "keystone")
	t.Setenv("KEEL_KEYSTONE_URL", "http://k:5000/v3")
	t.Setenv("KEEL_KEYSTONE_USER", "octavia")
	t.Setenv("KEEL_KEYSTONE_PASSWORD", "secret")
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.auth.Strategy != "keystone" || o.auth.Keystone.Password != "secret" || o.auth.Keystone.Project != "service" ||
		o.auth.Keystone.UserDomain != "Default" || o.auth.Keystone.CacheTTL.Seconds() != 300 {
		t.Fatalf("%+v", o.auth)
	}
}

// -blazar-addr: Blazar's port by default, KEEL_BLAZAR_ADDR, "" not served, a
// loopback address only with -noauth-admin.
func TestBlazarAddrFlag(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil || o.blazarAddr != "127.0.0.1:1234" {
		t.Fatalf("default: %q, %v", o.blazarAddr, err)
	}
	if o, err := parseFlags([]string{"-blazar-addr", ""}); err != nil || o.blazarAddr != "" {
		t.Fatalf("disabled: %v", err)
	}
	if _, err := parseFlags([]string{"-blazar-addr", "nope"}); err == nil || !strings.Contains(err.Error(), "-blazar-addr") {
		t.Fatalf("a malformed address: %v", err)
	}
	if _, err := parseFlags([]string{"-noauth-admin", "-blazar-addr", "0.0.0.0:1234"}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("-noauth-admin beyond loopback: %v", err)
	}
	t.Setenv("KEEL_BLAZAR_ADDR", "127.0.0.9:4321")
	if o, err := parseFlags(nil); err != nil || o.blazarAddr != "127.0.0.9:4321" {
		t.Fatalf("from the environment: %q, %v", o.blazarAddr, err)
	}
}

// -mogan-addr: Mogan's port by default, KEEL_MOGAN_ADDR, "" not served, a
// loopback address only with -noauth-admin.
func TestMoganAddrFlag(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil || o.moganAddr != "127.0.0.1:6688" {
		t.Fatalf("default: %q, %v", o.moganAddr, err)
	}
	if o, err := parseFlags([]string{"-mogan-addr", ""}); err != nil || o.moganAddr != "" {
		t.Fatalf("disabled: %v", err)
	}
	if _, err := parseFlags([]string{"-mogan-addr", "nope"}); err == nil || !strings.Contains(err.Error(), "-mogan-addr") {
		t.Fatalf("a malformed address: %v", err)
	}
	if _, err := parseFlags([]string{"-noauth-admin", "-mogan-addr", "0.0.0.0:6688"}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("-noauth-admin beyond loopback: %v", err)
	}
	t.Setenv("KEEL_MOGAN_ADDR", "127.0.0.9:4321")
	if o, err := parseFlags(nil); err != nil || o.moganAddr != "127.0.0.9:4321" {
		t.Fatalf("from the environment: %q, %v", o.moganAddr, err)
	}
}

// Blazar's manager options: minutes_before_end_lease (0: no before_end event)
// and cleaning_time, with their defaults and refusals.
func TestLeaseFlags(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil || o.leases.MinutesBeforeEnd != 60 || o.leases.CleaningTime != 0 {
		t.Fatalf("defaults: %+v, %v", o.leases, err)
	}
	o, err = parseFlags([]string{"-lease-minutes-before-end", "0", "-lease-cleaning-time", "5m"})
	if err != nil || o.leases.MinutesBeforeEnd >= 0 || o.leases.CleaningTime != 5*time.Minute {
		t.Fatalf("no before_end event, 5 min cleaning: %+v, %v", o.leases, err)
	}
	for _, args := range [][]string{{"-lease-minutes-before-end", "-1"}, {"-lease-cleaning-time", "-1s"}} {
		if _, err := parseFlags(args); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Fatalf("%v: %v", args, err)
		}
	}
}

func TestRaftLogStoreFlag(t *testing.T) {
	if o, err := parseFlags(nil); err != nil || o.raftLogStore != "wal" {
		t.Fatalf("default: %q, %v", o.raftLogStore, err)
	}
	if o, err := parseFlags([]string{"-raft-log-store", "bolt"}); err != nil || o.raftLogStore != "bolt" {
		t.Fatalf("bolt: %q, %v", o.raftLogStore, err)
	}
	if _, err := parseFlags([]string{"-raft-log-store", "leveldb"}); err == nil || !strings.Contains(err.Error(), "-raft-log-store must be wal or bolt") {
		t.Fatalf("leveldb: %v", err)
	}
}

func TestRaftCommitTimeoutFlag(t *testing.T) {
	if o, err := parseFlags(nil); err != nil || o.commitTimeout != 50*time.Millisecond {
		t.Fatalf("default: %v, %v", o.commitTimeout, err)
	}
	if o, err := parseFlags([]string{"-raft-commit-timeout", "5ms"}); err != nil || o.commitTimeout != 5*time.Millisecond {
		t.Fatalf("5ms: %v", err)
	}
	if _, err := parseFlags([]string{"-raft-commit-timeout", "0s"}); err == nil || !strings.Contains(err.Error(), "-raft-commit-timeout") {
		t.Fatalf("zero: %v", err)
	}
}
