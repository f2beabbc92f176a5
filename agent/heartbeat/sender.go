package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Sample is what a Source reports each interval, with absolute counters.
type Sample struct {
	Listeners map[string]ListenerSample
	// Pools is keyed "<pool UUID>:<listener UUID>".
	Pools map[string]Pool
	// Withhold, when not empty, says why no heartbeat must be sent this interval (as
	// upstream: keepalived configured but not running, so the controller fails over).
	Withhold string
}

// ListenerSample is one listener's status and absolute haproxy counters.
type ListenerSample struct {
	Status string
	// Process identifies the haproxy worker the counters come from; when it changes
	// (restart, reload) the counters restarted from zero.
	Process       string
	BytesIn       uint64
	BytesOut      uint64
	CurrentConns  uint64
	TotalConns    uint64
	RequestErrors uint64
}

// Source collects a Sample.
type Source func(ctx context.Context) (Sample, error)

// SenderConfig configures a Sender.
type SenderConfig struct {
	AmphoraID   string
	Key         []byte
	Controllers []string // UDP host:port
	Interval    time.Duration
	Source      Source
	Logger      *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Sender builds and sends heartbeats. Build is not safe for concurrent use; Run calls
// it from one goroutine.
type Sender struct {
	cfg  SenderConfig
	boot int64
	seq  uint64
	next bool // seq has been used once
	prev map[string]ListenerSample
}

// NewSender checks cfg and returns a Sender whose Boot is the current time.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if cfg.AmphoraID == "" {
		return nil, errors.New("heartbeat: amphora id required")
	}
	if len(cfg.Key) == 0 {
		return nil, errors.New("heartbeat: key required")
	}
	if cfg.Interval <= 0 {
		return nil, errors.New("heartbeat: interval must be positive")
	}
	if cfg.Source == nil {
		return nil, errors.New("heartbeat: source required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for _, c := range cfg.Controllers {
		if _, _, err := net.SplitHostPort(c); err != nil {
			return nil, fmt.Errorf("heartbeat: controller %q: %w", c, err)
		}
	}
	return &Sender{cfg: cfg, boot: cfg.Now().UnixNano(), prev: map[string]ListenerSample{}}, nil
}

// Boot is this sender's boot id.
func (s *Sender) Boot() int64 { return s.boot }

// Build turns a sample into the next message: counters become deltas against the
// previous sample of the same haproxy process (the whole value after a process
// change or a counter going backwards), Seq advances by one.
func (s *Sender) Build(sample Sample) *Message {
	if s.next {
		s.seq++
	}
	s.next = true
	msg := &Message{
		ID:        s.cfg.AmphoraID,
		Seq:       s.seq,
		Ver:       Version,
		Boot:      s.boot,
		Time:      s.cfg.Now().UnixMilli(),
		Listeners: map[string]Listener{},
		Pools:     map[string]Pool{},
	}
	for id, cur := range sample.Listeners {
		prev, seen := s.prev[id]
		if !seen || prev.Process != cur.Process {
			prev = ListenerSample{}
		}
		msg.Listeners[id] = Listener{Status: cur.Status, Stats: Stats{
			TX:       delta(cur.BytesOut, prev.BytesOut),
			RX:       delta(cur.BytesIn, prev.BytesIn),
			Conns:    cur.CurrentConns,
			TotConns: delta(cur.TotalConns, prev.TotalConns),
			Ereq:     delta(cur.RequestErrors, prev.RequestErrors),
		}}
	}
	s.prev = map[string]ListenerSample{}
	for id, cur := range sample.Listeners {
		s.prev[id] = cur
	}
	for k, p := range sample.Pools {
		msg.Pools[k] = p
	}
	return msg
}

func delta(cur, prev uint64) uint64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// Run sends a heartbeat at once and then every Interval until ctx ends. Failures to
// collect or send are logged and do not stop it.
func (s *Sender) Run(ctx context.Context) error {
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		return fmt.Errorf("heartbeat: socket: %w", err)
	}
	defer conn.Close()
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.sendOnce(ctx, conn)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Sender) sendOnce(ctx context.Context, conn *net.UDPConn) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.Interval)
	sample, err := s.cfg.Source(cctx)
	cancel()
	if err != nil {
		s.cfg.Logger.Warn("heartbeat: collecting status failed", "err", err)
		return
	}
	if sample.Withhold != "" {
		s.cfg.Logger.Warn("heartbeat withheld", "reason", sample.Withhold)
		return
	}
	datagram, err := Encode(s.Build(sample), s.cfg.Key)
	if err != nil {
		s.cfg.Logger.Error("heartbeat: encode failed", "err", err)
		return
	}
	for _, c := range s.cfg.Controllers {
		addr, err := net.ResolveUDPAddr("udp", c)
		if err != nil {
			s.cfg.Logger.Warn("heartbeat: resolve controller", "controller", c, "err", err)
			continue
		}
		if _, err := conn.WriteToUDP(datagram, addr); err != nil {
			s.cfg.Logger.Warn("heartbeat: send", "controller", c, "err", err)
		}
	}
}
