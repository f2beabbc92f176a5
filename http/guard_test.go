package http

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestHostPolicy(t *testing.T) {
	p, err := NewHostPolicy([]string{"keel.example.com", " LB.Example.org. ", ""})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"":                       true, // HTTP/1.0
		"127.0.0.1:9876":         true,
		"127.0.0.1":              true,
		"10.1.2.3:80":            true,
		"[::1]:9876":             true,
		"[::1]":                  true,
		"localhost:9876":         true,
		"LOCALHOST":              true,
		"keel.example.com:9876":  true,
		"KEEL.example.com.":      true,
		"lb.example.org":         true,
		"evil.example":           false,
		"evil.example:9876":      false,
		"127.0.0.1.nip.io":       false,
		"keel.example.com.evil":  false,
		"[fe80::1%eth0]:80":      false,
		"localhost:99999":        false,
		"sub.keel.example.com":   false,
		"keel.example.com:x":     false,
		"[::1]:9876/../evil.com": false,
	} {
		if got := p.Allows(host); got != want {
			t.Errorf("Allows(%q) = %v, want %v", host, got, want)
		}
	}
	anyHost, _ := NewHostPolicy([]string{"*"})
	if !anyHost.Allows("evil.example") {
		t.Error("* refused a host")
	}
	if _, err := NewHostPolicy([]string{"http://keel"}); err == nil {
		t.Error("a URL was taken as a host name")
	}
}

func TestHeaderValueOK(t *testing.T) {
	for v, want := range map[string]bool{
		"project-a": true, "a\tb": true, "café": true, "": true,
		"\xff\xfe": false, "a\x00b": false, "a\x1bb": false, "a\x7fb": false, "a\u0085b": false,
	} {
		if got := headerValueOK([]byte(v)); got != want {
			t.Errorf("headerValueOK(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestCheckJSONText(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":"b"}`:                             "",
		`{"a":"caf\u00e9 \ud83d\ude00"}`:        "",
		`{"a":"\\u0000"}`:                       "", // an escaped backslash, then text
		`{"a":"\u00"}`:                          "", // malformed: the parser's to refuse
		"{\"a\":\"caf\xe9\"}":                   "Request is not in valid JSON format",
		`{"a":"\ud83d"}`:                        "Request is not in valid JSON format",
		`{"a":"\ude00"}`:                        "Request is not in valid JSON format",
		`{"a":"\ud83d\u0041"}`:                  "Request is not in valid JSON format",
		`{"a":"x\u0000y"}`:                      `Invalid input: strings must not hold NUL characters (\u0000).`,
		`{"a\u0000":1}`:                         `Invalid input: strings must not hold NUL characters (\u0000).`,
		`{"flavor_data":"{\"a\":\"\\u0000\"}"}`: "", // NUL only inside the inner document
	} {
		got := ""
		if err := checkJSONText([]byte(body)); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("checkJSONText(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestStrListRefusesNull(t *testing.T) {
	f, err := decodeRoot([]byte(`{"loadbalancer":{"tags":["a",null]}}`), "load_balancer", "loadbalancer")
	if err != nil {
		t.Fatal(err)
	}
	f.strList("tags", 255)
	want := `Invalid input for field/attribute tags. Value: '["a",null]'. Wrong type. Expected 'str', got 'NoneType'`
	if err := f.finish(); err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestDecodePathParam(t *testing.T) {
	for in, want := range map[string]string{
		"my%20az%2F1": "my az/1", "plain": "plain", "a+b": "a+b", "bad%zz": "bad%zz", "%E2%82%AC": "€",
	} {
		if got := decodePathParam(in); got != want {
			t.Errorf("decodePathParam(%q) = %q, want %q", in, got, want)
		}
	}
}

// chunkConn serves reads from fixed chunks, as a socket might deliver them.
type chunkConn struct {
	net.Conn
	chunks []string
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	if c.chunks[0] == "" {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

func (c *chunkConn) SetReadDeadline(time.Time) error { return nil }

// readAll reads g to its end and returns what it read and the error that ended it.
func readAll(g *lineGuard) (string, error) {
	var sb strings.Builder
	buf := make([]byte, 7) // small reads: CRLFs split across them
	for {
		n, err := g.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String(), err
		}
	}
}

func TestLineGuard(t *testing.T) {
	guard := func(chunks ...string) *lineGuard {
		return &lineGuard{Conn: &chunkConn{chunks: chunks}, armed: true, header: true}
	}
	// A bare LF in a header block fails the read at once, after the bytes before it.
	got, err := readAll(guard("GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n"))
	if !errors.Is(err, errBareLF) || got != "GET / HTTP/1.1\r\nHost: x" {
		t.Fatalf("bare LF: read %q, %v", got, err)
	}
	// Bare LFs in a body are data.
	g := guard("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n{\n\n}\n")
	if got, err := readAll(g); err != io.EOF || !strings.HasSuffix(got, "{\n\n}\n") {
		t.Fatalf("body: read %q, %v", got, err)
	}
	// After a request whose body ended where the reads end, the next header block
	// is scanned again.
	g = guard("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", "{\n}", "GET / HTTP/1.1\nHost: x\n\n")
	buf := make([]byte, 64)
	for i := 0; i < 2; i++ {
		if _, err := g.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	g.requestDone(3)
	if _, err := g.Read(buf); !errors.Is(err, errBareLF) {
		t.Fatalf("second request: %v", err)
	}
	// A client that pipelines (the next request arrived with the body) is no
	// longer scanned: the guard cannot know where its header blocks start.
	g = guard("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n{\n}GET / HTTP/1.1\r\n", "Host: x\r\n\r\n")
	if _, err := g.Read(buf); err != nil {
		t.Fatal(err)
	}
	g.requestDone(3)
	if _, err := g.Read(buf); err != nil || g.armed {
		t.Fatalf("pipelined: %v, armed %v", err, g.armed)
	}
	// Chunked bodies disarm it too.
	g = guard("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n")
	_, _ = readAll(g)
	g.requestDone(-1)
	if g.armed {
		t.Fatal("armed after a chunked body")
	}
}
