// Package haproxy owns the listeners of an amphora: one haproxy process per listener
// (seed 002's per-listener configurations), their stored configurations, the
// configuration actually run (the upload plus what the agent needs: a stats socket and
// the listener's certificate directory), start / stop / seamless reload in
// master-worker mode, and reading haproxy's stats socket into listener, pool and member
// status.
package haproxy

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// sectionKeywords start a new section in an haproxy configuration.
var sectionKeywords = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true,
	"peers": true, "resolvers": true, "userlist": true, "program": true, "http-errors": true,
	"ring": true, "mailers": true, "cache": true, "fcgi-app": true, "crt-store": true,
}

type section struct {
	kind, name string
	lines      []string // keyword lines inside the section, trimmed, comments removed
}

func parseSections(cfg []byte) []section {
	var out []section
	sc := bufio.NewScanner(bytes.NewReader(cfg))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if sectionKeywords[f[0]] {
			s := section{kind: f[0]}
			if len(f) > 1 {
				s.name = f[1]
			}
			out = append(out, s)
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].lines = append(out[len(out)-1].lines, strings.Join(f, " "))
		}
	}
	return out
}

// AgentConfig is the configuration file the agent runs before the uploaded one
// (haproxy -f agent.cfg -f haproxy.cfg), so the upload runs byte for byte as sent and
// haproxy's messages keep its line numbers. It is a global section holding a stats
// socket at statsSocket (level admin; expose-fd listeners makes master-worker reloads
// hand the listening sockets over) and, unless the upload sets them, crt-base and
// ca-base pointing at the listener's certificate directory, so configs name their
// certificates by file name alone.
func AgentConfig(uploaded []byte, statsSocket, certDir string) []byte {
	hasCrtBase, hasCaBase := false, false
	for _, s := range parseSections(uploaded) {
		if s.kind != "global" {
			continue
		}
		for _, l := range s.lines {
			hasCrtBase = hasCrtBase || strings.HasPrefix(l, "crt-base ")
			hasCaBase = hasCaBase || strings.HasPrefix(l, "ca-base ")
		}
	}
	var b bytes.Buffer
	b.WriteString("# Written by keel-agent; runs before the uploaded haproxy.cfg.\n")
	b.WriteString("global\n")
	fmt.Fprintf(&b, "    stats socket %s mode 600 level admin expose-fd listeners\n", statsSocket)
	if !hasCrtBase {
		fmt.Fprintf(&b, "    crt-base %s\n", certDir)
	}
	if !hasCaBase {
		fmt.Fprintf(&b, "    ca-base %s\n", certDir)
	}
	return b.Bytes()
}

// Listener types of the seed.
const (
	TypeTCP             = "TCP"
	TypeHTTP            = "HTTP"
	TypeTerminatedHTTPS = "TERMINATED_HTTPS"
)

// ListenerType reads a listener's type from its configuration: the frontend (or
// listen section) named after the listener, else the first one; mode http with an ssl
// bind is TERMINATED_HTTPS, mode http is HTTP, anything else TCP. The mode comes from
// the section, else the last defaults section before it.
func ListenerType(cfg []byte, listenerID string) string {
	secs := parseSections(cfg)
	defaultMode := "tcp"
	var chosen *section
	chosenDefault := defaultMode
	for i := range secs {
		s := &secs[i]
		switch s.kind {
		case "defaults":
			for _, l := range s.lines {
				if strings.HasPrefix(l, "mode ") {
					defaultMode = strings.TrimPrefix(l, "mode ")
				}
			}
		case "frontend", "listen":
			if chosen == nil || (s.name == listenerID && chosen.name != listenerID) {
				chosen, chosenDefault = s, defaultMode
			}
		}
	}
	if chosen == nil {
		return TypeTCP
	}
	mode, ssl := chosenDefault, false
	for _, l := range chosen.lines {
		if strings.HasPrefix(l, "mode ") {
			mode = strings.TrimPrefix(l, "mode ")
		}
		if strings.HasPrefix(l, "bind ") && containsWord(l, "ssl") {
			ssl = true
		}
	}
	switch {
	case mode == "http" && ssl:
		return TypeTerminatedHTTPS
	case mode == "http":
		return TypeHTTP
	default:
		return TypeTCP
	}
}

func containsWord(line, word string) bool {
	for _, f := range strings.Fields(line) {
		if f == word {
			return true
		}
	}
	return false
}
