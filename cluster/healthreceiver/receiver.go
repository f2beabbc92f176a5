// Package healthreceiver owns a node's UDP heartbeat listener (-health-addr), the
// receiving half of Octavia's health manager: it reads datagrams with a bounded
// buffer, verifies each with agent/heartbeat's Verifier (signature, shape, freshness,
// replay), counts what it accepts and what it rejects by reason, logs rejections at
// most once per reason per interval, and hands every accepted heartbeat to a handler
// on a small pool of workers, never blocking the read loop: a heartbeat that finds its
// worker's queue full is dropped and counted. What a heartbeat means for the load
// balancer's statuses is not its business (actors/healthmap). docs/heartbeat.md,
// "Receiving", is the contract.
package healthreceiver

import (
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"keel/agent/heartbeat"
)

// Heartbeat is one verified heartbeat.
type Heartbeat struct {
	// AmphoraID is Message.ID.
	AmphoraID string
	Message   *heartbeat.Message
	// From is the datagram's source address.
	From netip.AddrPort
	// Received is when the datagram was read (Octavia's recv_time).
	Received time.Time
}

// Handler receives accepted heartbeats. Heartbeats of one amphora reach it in the
// order they were accepted, one at a time (they always go to the same worker);
// heartbeats of different amphorae may be handled concurrently, by up to
// Config.Workers goroutines.
type Handler func(Heartbeat)

// Defaults of Config.
const (
	DefaultWorkers     = 2
	DefaultQueue       = 4096
	DefaultLogInterval = 10 * time.Second
)

// Config configures a Receiver.
type Config struct {
	// Addr is the UDP address to bind (-health-addr), host:port; port 0 picks one.
	Addr string
	// Verifier checks every datagram; required. The caller keeps it to Forget
	// deleted amphorae.
	Verifier *heartbeat.Verifier
	// Handler receives accepted heartbeats; required.
	Handler Handler
	// Workers is how many goroutines run Handler; DefaultWorkers when zero.
	Workers int
	// Queue is how many accepted heartbeats may wait for the handler, over all
	// workers; DefaultQueue when zero.
	Queue int
	// MaxDelay, when positive, drops a heartbeat that waited longer than this
	// between being read and reaching the handler (Octavia ignores a heartbeat
	// processed heartbeat_interval or more after receipt: an overloaded controller
	// must not act on old news). Zero: never.
	MaxDelay time.Duration
	// ReadBuffer, when positive, sets the socket's receive buffer (SO_RCVBUF, as
	// Octavia's sock_rlimit); the kernel caps it at net.core.rmem_max.
	ReadBuffer int
	// LogInterval is the least time between two log lines of one reason;
	// DefaultLogInterval when zero.
	LogInterval time.Duration
	// Logger receives the rejection lines; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Reason is why a datagram did not reach the handler.
type Reason int

// The reasons, in Counters' order.
const (
	// Forged: the signature does not verify (another key, altered bytes).
	Forged Reason = iota
	// Replayed: the amphora's (boot, seq) is not newer than one already accepted.
	Replayed
	// Stale: the message's timestamp is outside the verifier's window.
	Stale
	// Malformed: too short or too long, not zlib, not JSON, or missing fields.
	Malformed
	// QueueFull: verified, but its worker's queue was full.
	QueueFull
	// Late: verified, but it waited longer than MaxDelay for the handler.
	Late
	numReasons
)

var reasonNames = [numReasons]string{"forged", "replayed", "stale", "malformed", "queue full", "late"}

func (r Reason) String() string {
	if r < 0 || r >= numReasons {
		return fmt.Sprintf("Reason(%d)", int(r))
	}
	return reasonNames[r]
}

// reasonOf classifies a Verify error.
func reasonOf(err error) Reason {
	switch {
	case errors.Is(err, heartbeat.ErrBadSignature):
		return Forged
	case errors.Is(err, heartbeat.ErrReplay):
		return Replayed
	case errors.Is(err, heartbeat.ErrStale):
		return Stale
	default:
		return Malformed
	}
}

// Counters is a snapshot of a Receiver's counters, each counting since Listen.
// Received = Accepted + Forged + Replayed + Stale + Malformed, and every accepted
// heartbeat ends as Handled, Dropped or Late (or is discarded by Close).
type Counters struct {
	Received  uint64 // datagrams read
	Accepted  uint64 // verified
	Forged    uint64
	Replayed  uint64
	Stale     uint64
	Malformed uint64
	Dropped   uint64 // accepted, but the queue was full
	Late      uint64 // accepted, but older than MaxDelay when dequeued
	Handled   uint64 // returned from the handler
}

// Receiver is a running heartbeat listener.
type Receiver struct {
	cfg    Config
	conn   *net.UDPConn
	queues []chan Heartbeat
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once

	received, accepted, handled atomic.Uint64
	rejected                    [numReasons]atomic.Uint64

	logMu   sync.Mutex
	logNext [numReasons]time.Time
	logSkip [numReasons]uint64
}

// Listen binds cfg.Addr and starts reading and handling heartbeats.
func Listen(cfg Config) (*Receiver, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("healthreceiver: verifier required")
	}
	if cfg.Handler == nil {
		return nil, errors.New("healthreceiver: handler required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.LogInterval <= 0 {
		cfg.LogInterval = DefaultLogInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	addr, err := net.ResolveUDPAddr("udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("healthreceiver: %w", err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("healthreceiver: %w", err)
	}
	if cfg.ReadBuffer > 0 {
		if err := conn.SetReadBuffer(cfg.ReadBuffer); err != nil {
			conn.Close()
			return nil, fmt.Errorf("healthreceiver: receive buffer: %w", err)
		}
	}
	r := &Receiver{cfg: cfg, conn: conn, stop: make(chan struct{})}
	per := (cfg.Queue + cfg.Workers - 1) / cfg.Workers
	for range cfg.Workers {
		q := make(chan Heartbeat, per)
		r.queues = append(r.queues, q)
		r.wg.Add(1)
		go r.work(q)
	}
	r.wg.Add(1)
	go r.read()
	return r, nil
}

// Addr is the bound address.
func (r *Receiver) Addr() net.Addr { return r.conn.LocalAddr() }

// Counters returns the counters now.
func (r *Receiver) Counters() Counters {
	return Counters{
		Received:  r.received.Load(),
		Accepted:  r.accepted.Load(),
		Forged:    r.rejected[Forged].Load(),
		Replayed:  r.rejected[Replayed].Load(),
		Stale:     r.rejected[Stale].Load(),
		Malformed: r.rejected[Malformed].Load(),
		Dropped:   r.rejected[QueueFull].Load(),
		Late:      r.rejected[Late].Load(),
		Handled:   r.handled.Load(),
	}
}

// Close stops reading, discards the heartbeats still queued, and returns once the
// read loop and every worker have returned (a handler running is waited for).
func (r *Receiver) Close() error {
	var err error
	r.once.Do(func() {
		err = r.conn.Close()
		close(r.stop)
		r.wg.Wait()
	})
	return err
}

// read is the read loop: one datagram at a time into one buffer, verified before
// the next read (Verify copies what it keeps), so memory is bounded by the buffer
// and the queues.
func (r *Receiver) read() {
	defer r.wg.Done()
	// One byte more than the largest heartbeat: a longer datagram is truncated to
	// it and then refused as too long rather than judged on its first bytes.
	buf := make([]byte, heartbeat.MaxDatagram+1)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient error (e.g. ICMP-caused on some systems): keep reading,
			// unless we are closing.
			select {
			case <-r.stop:
				return
			default:
			}
			r.cfg.Logger.Warn("heartbeat receiver: read failed", "err", err)
			continue
		}
		now := r.cfg.Now()
		r.received.Add(1)
		msg, err := r.cfg.Verifier.Verify(buf[:n])
		if err != nil {
			r.reject(reasonOf(err), now, from, "", err)
			continue
		}
		r.accepted.Add(1)
		hb := Heartbeat{AmphoraID: msg.ID, Message: msg, From: from, Received: now}
		select {
		case r.queues[r.shard(msg.ID)] <- hb:
		default:
			r.reject(QueueFull, now, from, msg.ID, errors.New("handler queue full"))
		}
	}
}

// shard keeps every heartbeat of one amphora on one worker, so they are handled in
// the order they were accepted.
func (r *Receiver) shard(amphoraID string) int {
	if len(r.queues) == 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(amphoraID))
	return int(h.Sum32() % uint32(len(r.queues)))
}

func (r *Receiver) work(q chan Heartbeat) {
	defer r.wg.Done()
	for {
		select {
		case <-r.stop:
			return
		case hb := <-q:
			if r.cfg.MaxDelay > 0 {
				now := r.cfg.Now()
				if waited := now.Sub(hb.Received); waited > r.cfg.MaxDelay {
					r.reject(Late, now, hb.From, hb.AmphoraID, fmt.Errorf("waited %s for the handler", waited))
					continue
				}
			}
			r.cfg.Handler(hb)
			r.handled.Add(1)
		}
	}
}

// reject counts a datagram that does not reach the handler and logs it, at most
// one line per reason per LogInterval; the line says how many of that reason went
// unlogged since the previous one.
func (r *Receiver) reject(reason Reason, now time.Time, from netip.AddrPort, amphoraID string, err error) {
	// Counted once logged, so a reader that sees the count sees the line.
	defer r.rejected[reason].Add(1)
	r.logMu.Lock()
	if now.Before(r.logNext[reason]) {
		r.logSkip[reason]++
		r.logMu.Unlock()
		return
	}
	skipped := r.logSkip[reason]
	r.logSkip[reason] = 0
	r.logNext[reason] = now.Add(r.cfg.LogInterval)
	r.logMu.Unlock()
	attrs := []any{"reason", reason.String(), "from", from.String()}
	if amphoraID != "" {
		attrs = append(attrs, "amphora", amphoraID)
	}
	attrs = append(attrs, "err", err, "unlogged_since_last", skipped)
	r.cfg.Logger.Warn("heartbeat dropped", attrs...)
}
