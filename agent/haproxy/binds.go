package haproxy

import (
	"net/netip"
	"strconv"
	"strings"
)

// Bind is one address a listener's haproxy listens on, from a bind line of a frontend
// or listen section.
type Bind struct {
	// Raw is the address as written ("127.0.0.1:80", ":443", "ipv6@:::80").
	Raw string
	// Proto is "tcp" or "udp" for network addresses (udp for udp@ and quic@), else
	// haproxy's address family prefix ("unix", "abns").
	Proto string
	// Path is a unix socket path or abstract name (Proto unix or abns).
	Path string
	// Any: every address of every family (haproxy's empty host or "*"). Else Addr is
	// the literal address, or Host the name when it is not one.
	Any  bool
	Addr netip.Addr
	Host string
	// V6Only: an IPv6 wildcard with the v6only option (it does not cover IPv4).
	V6Only bool
	// Lo and Hi are the port range (equal for a single port).
	Lo, Hi int
}

// Binds returns the addresses the configuration's frontends and listen sections bind.
// Addresses haproxy resolves at start ("${VAR}", fd@, sockpair@) or that do not parse
// are left out: they can neither be checked nor, knowingly, conflict.
func Binds(cfg []byte) []Bind {
	var out []Bind
	for _, s := range parseSections(cfg) {
		if s.kind != "frontend" && s.kind != "listen" {
			continue
		}
		for _, l := range s.lines {
			f := strings.Fields(l)
			if len(f) < 2 || f[0] != "bind" {
				continue
			}
			v6only := false
			for _, o := range f[2:] {
				v6only = v6only || o == "v6only"
			}
			for _, a := range strings.Split(f[1], ",") {
				if b, ok := parseBind(a); ok {
					b.V6Only = v6only && b.Addr.IsValid() && b.Addr.Is6() && b.Addr.IsUnspecified()
					out = append(out, b)
				}
			}
		}
	}
	return out
}

func parseBind(raw string) (Bind, bool) {
	b := Bind{Raw: raw, Proto: "tcp"}
	if strings.Contains(raw, "${") {
		return b, false
	}
	rest := raw
	if prefix, after, ok := strings.Cut(raw, "@"); ok {
		rest = after
		switch prefix {
		case "ipv4", "ipv6", "tcp", "tcp4", "tcp6":
		case "udp", "udp4", "udp6", "quic4", "quic6":
			b.Proto = "udp"
		case "unix", "abns":
			b.Proto, b.Path = prefix, after
			return b, after != ""
		default: // fd@, sockpair@, and what this parser does not know
			return b, false
		}
	} else if strings.HasPrefix(raw, "/") {
		b.Proto, b.Path = "unix", raw
		return b, true
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return b, false
	}
	host, ports := rest[:i], rest[i+1:]
	lo, hi, ok := strings.Cut(ports, "-")
	var err1, err2 error
	b.Lo, err1 = strconv.Atoi(lo)
	b.Hi = b.Lo
	if ok {
		b.Hi, err2 = strconv.Atoi(hi)
	}
	if err1 != nil || err2 != nil || b.Lo < 1 || b.Hi > 65535 || b.Hi < b.Lo {
		return b, false
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	switch {
	case host == "" || host == "*":
		b.Any = true
	default:
		if a, err := netip.ParseAddr(host); err == nil {
			b.Addr = a.Unmap().WithZone("")
		} else {
			b.Host = strings.ToLower(host)
		}
	}
	return b, true
}

// Overlaps reports whether a and b would receive the same connections: the same
// protocol, intersecting ports and addresses that are equal or where one is a
// wildcard covering the other (0.0.0.0 covers IPv4; :: covers IPv6 and, unless
// v6only, IPv4 too, as Linux binds it dual-stack; "*" and an empty host cover all).
// Unix sockets and abstract names overlap when their names are equal.
func (a Bind) Overlaps(b Bind) bool {
	if a.Proto != b.Proto {
		return false
	}
	if a.Path != "" || b.Path != "" {
		return a.Path == b.Path
	}
	if a.Hi < b.Lo || b.Hi < a.Lo {
		return false
	}
	return a.covers(b) || b.covers(a)
}

// covers: every address b may designate is one a listens on.
func (a Bind) covers(b Bind) bool {
	switch {
	case a.Any:
		return true
	case a.Host != "" || b.Host != "":
		return a.Host == b.Host // names: only the same name is known to overlap
	case b.Any:
		return false
	case a.Addr == b.Addr:
		return true
	case a.Addr.Is4() && a.Addr.IsUnspecified():
		return b.Addr.Is4()
	case a.Addr.Is6() && a.Addr.IsUnspecified():
		return b.Addr.Is6() || !a.V6Only
	}
	return false
}
