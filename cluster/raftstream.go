package cluster

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// handshakeTimeout bounds a peer's TLS handshake, so a connection that never
// completes one cannot hold a Raft connection handler forever.
const handshakeTimeout = 5 * time.Second

// TLSStreamLayer is a raft.StreamLayer over TLS with NodeTLS's identity: Raft
// RPCs (votes, appends, snapshots) are only exchanged between holders of the
// cluster key. Wrap it with raft.NewNetworkTransport in place of
// raft.NewTCPTransport.
type TLSStreamLayer struct {
	ln        net.Listener
	advertise net.Addr
	cfg       *tls.Config
}

var _ raft.StreamLayer = (*TLSStreamLayer)(nil)

// NewTLSStreamLayer listens on bind; advertise (nil: the bound address) is what
// peers dial.
func NewTLSStreamLayer(bind string, advertise net.Addr, cfg *tls.Config) (*TLSStreamLayer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	if advertise == nil {
		advertise = ln.Addr()
	}
	return &TLSStreamLayer{ln: ln, advertise: advertise, cfg: cfg}, nil
}

// Accept returns the next connection; its handshake runs, bounded, on first use
// (in Raft's per-connection goroutine, not in the accept loop).
func (s *TLSStreamLayer) Accept() (net.Conn, error) {
	c, err := s.ln.Accept()
	if err != nil {
		return nil, err
	}
	return &handshakeConn{Conn: tls.Server(c, s.cfg)}, nil
}

// Close stops listening.
func (s *TLSStreamLayer) Close() error { return s.ln.Close() }

// Addr is the advertised address.
func (s *TLSStreamLayer) Addr() net.Addr { return s.advertise }

// Dial connects to a peer and completes the handshake within timeout.
func (s *TLSStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: s.cfg}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, "tcp", string(address))
}

// handshakeConn is an accepted TLS connection whose handshake is bounded by
// handshakeTimeout and done before the first read or write.
type handshakeConn struct {
	*tls.Conn
	once sync.Once
	err  error
}

func (c *handshakeConn) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		defer cancel()
		c.err = c.Conn.HandshakeContext(ctx)
	})
	return c.err
}

func (c *handshakeConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *handshakeConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
