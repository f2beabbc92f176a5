package main

import (
	"flag"
	"testing"
	"time"
)

func TestEnvironmentFillsFlagsAndCommandLineWins(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	key := fs.String("heartbeat-key", "", "")
	listen := fs.String("listen", "127.0.0.1:9443", "")
	interval := fs.Duration("heartbeat-interval", 10*time.Second, "")
	t.Setenv("KEEL_HEARTBEAT_KEY", "from-env")
	t.Setenv("KEEL_LISTEN", "127.0.0.1:1")
	t.Setenv("KEEL_HEARTBEAT_INTERVAL", "3s")
	if err := applyEnv(fs); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"-listen", "127.0.0.1:2"}); err != nil {
		t.Fatal(err)
	}
	if *key != "from-env" || *listen != "127.0.0.1:2" || *interval != 3*time.Second {
		t.Fatalf("key %q listen %q interval %s", *key, *listen, *interval)
	}
	t.Setenv("KEEL_HEARTBEAT_INTERVAL", "soon")
	if err := applyEnv(fs); err == nil {
		t.Fatal("bad KEEL_HEARTBEAT_INTERVAL accepted")
	}
}
