// Command keel-agent is the amphora agent: seed 002's API v0.1 over mutual TLS,
// driving haproxy and keepalived, with HMAC-signed UDP heartbeats. Every flag can also
// be set as KEEL_<FLAG> in the environment (dashes as underscores); the command line
// wins.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"keel/agent"
)

func main() {
	fs := flag.NewFlagSet("keel-agent", flag.ExitOnError)
	var cfg agent.Config
	var controllers string
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:9443", "API address (mutual TLS)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "server certificate (PEM, chain)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "server key (PEM)")
	fs.StringVar(&cfg.ClientCA, "client-ca", "", "CA certificates (PEM) that sign the controllers' client certificates")
	fs.StringVar(&cfg.StateDir, "state-dir", "/var/lib/keel-agent", "where listener configs and state live")
	fs.StringVar(&cfg.CertDir, "cert-dir", "", "listener certificates (default: /dev/shm/keel-agent-<amphora-id>/certs on a memory filesystem, else <state-dir>/certs)")
	fs.StringVar(&cfg.AmphoraID, "amphora-id", "", "this amphora's UUID")
	fs.StringVar(&controllers, "controllers", "", "comma-separated UDP host:port heartbeat targets")
	fs.StringVar(&cfg.HeartbeatKey, "heartbeat-key", "", "HMAC key for heartbeats")
	fs.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", 10*time.Second, "heartbeat period")
	fs.StringVar(&cfg.HAProxy, "haproxy", "/usr/sbin/haproxy", "haproxy binary")
	fs.StringVar(&cfg.Keepalived, "keepalived", "/usr/sbin/keepalived", "keepalived binary")
	fs.StringVar(&cfg.NetNS, "netns", "", "network namespace of the data plane (interface lookup, plug, haproxy, keepalived); empty: the agent's own")
	if err := applyEnv(fs); err != nil {
		fmt.Fprintln(os.Stderr, "keel-agent:", err)
		os.Exit(2)
	}
	fs.Parse(os.Args[1:])
	for _, c := range strings.Split(controllers, ",") {
		if c = strings.TrimSpace(c); c != "" {
			cfg.Controllers = append(cfg.Controllers, c)
		}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

	a, err := agent.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "keel-agent:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "keel-agent:", err)
		os.Exit(1)
	}
}

// applyEnv sets every flag from KEEL_<FLAG> when present; flags parsed afterwards
// from the command line override these values.
func applyEnv(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "KEEL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}
