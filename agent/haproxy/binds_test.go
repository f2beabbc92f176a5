package haproxy

import "testing"

func TestBinds(t *testing.T) {
	cfg := []byte(`global
    daemon
defaults
    mode http
frontend a
    bind 127.0.0.1:8080
    bind :8443,[::1]:9000 ssl crt x.pem
    bind ipv6@:::80 v6only
    bind ${ADDR}:81
    bind fd@3
    bind unix@/run/a.sock
    bind /run/b.sock
backend b
    bind 127.0.0.1:1
listen c
    bind 10.0.0.1:1000-1010 # comment
    bind quic4@:443
peers p
    bind 127.0.0.1:10000
`)
	got := Binds(cfg)
	want := []string{"127.0.0.1:8080", ":8443", "[::1]:9000", "ipv6@:::80", "unix@/run/a.sock", "/run/b.sock", "10.0.0.1:1000-1010", "quic4@:443"}
	if len(got) != len(want) {
		t.Fatalf("Binds = %+v", got)
	}
	for i, b := range got {
		if b.Raw != want[i] {
			t.Errorf("bind %d = %q, want %q", i, b.Raw, want[i])
		}
	}
	if !got[3].V6Only || got[7].Proto != "udp" || got[4].Path != "/run/a.sock" || got[6].Lo != 1000 || got[6].Hi != 1010 {
		t.Fatalf("parsed %+v", got)
	}
}

func TestBindOverlaps(t *testing.T) {
	parse := func(line string) Bind {
		bs := Binds([]byte("frontend f\n    bind " + line + "\n"))
		if len(bs) != 1 {
			t.Fatalf("bind %q parsed as %+v", line, bs)
		}
		return bs[0]
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"127.0.0.1:80", "127.0.0.1:80", true},
		{"127.0.0.1:80", "127.0.0.1:81", false},
		{"127.0.0.1:80", "127.0.0.2:80", false},
		{":80", "127.0.0.1:80", true},
		{"*:80", "[::1]:80", true},
		{"0.0.0.0:80", "10.0.0.1:80", true},
		{"0.0.0.0:80", "[2001:db8::1]:80", false},
		{":::80", "10.0.0.1:80", true},
		{":::80 v6only", "10.0.0.1:80", false},
		{":::80 v6only", "[2001:db8::1]:80", true},
		{"ipv4@10.0.0.1:80", "10.0.0.1:80", true},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1:80", true},
		{"10.0.0.1:1000-1010", "10.0.0.1:1010", true},
		{"10.0.0.1:1000-1010", "10.0.0.1:1011", false},
		{"udp@:443", ":443", false},
		{"quic4@:443", "udp4@10.0.0.1:443", true},
		{"localhost:80", "localhost:80", true},
		{"localhost:80", "127.0.0.1:80", false},
		{":80", "localhost:80", true},
		{"unix@/run/a.sock", "/run/a.sock", true},
		{"unix@/run/a.sock", "unix@/run/b.sock", false},
		{"abns@x", "unix@x", false},
	} {
		a, b := parse(c.a), parse(c.b)
		if got := a.Overlaps(b); got != c.want {
			t.Errorf("%q overlaps %q = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := b.Overlaps(a); got != c.want {
			t.Errorf("%q overlaps %q = %v, want %v", c.b, c.a, got, c.want)
		}
	}
}
