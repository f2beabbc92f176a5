package heartbeat

import (
	"fmt"
	"sync"
	"time"
)

// DefaultWindow is how far a message's timestamp may be from the receiver's clock.
const DefaultWindow = 30 * time.Second

// VerifierOptions tune a Verifier; the zero value is usable.
type VerifierOptions struct {
	// Window bounds |receiver now - message ts|; DefaultWindow when zero.
	Window time.Duration
	// Now is the receiver's clock; time.Now when nil.
	Now func() time.Time
}

// Verifier is the controller side. It accepts a datagram only if its signature is
// valid, its boot is not after its timestamp, its timestamp is inside the window, and
// it comes after what was last accepted from the same amphora: a timestamp no earlier,
// and a larger Boot or the same Boot and a larger Seq. A position nothing refreshed for
// longer than the window is let go of by a message with a later timestamp, whatever
// its (Boot, Seq). So a genuine newer process (a larger Boot) wins, replays and
// reordered datagrams lose, and one forged datagram (from a holder of the key) with a
// huge Boot or Seq or a timestamp at the edge of the window silences an amphora's
// genuine heartbeats for at most about one window plus one interval, not for good.
// docs/heartbeat.md gives the reasoning. It is safe for concurrent use.
type Verifier struct {
	key    []byte
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	last map[string]position
}

// position is the last accepted message of an amphora.
type position struct {
	boot int64
	seq  uint64
	ts   int64     // its ts (sender's clock, ms)
	at   time.Time // when it was accepted (receiver's clock)
}

// NewVerifier returns a Verifier for the given heartbeat key.
func NewVerifier(key []byte, opts VerifierOptions) *Verifier {
	v := &Verifier{key: append([]byte{}, key...), window: opts.Window, now: opts.Now, last: map[string]position{}}
	if v.window <= 0 {
		v.window = DefaultWindow
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v
}

// Verify checks one datagram and returns its message. Errors wrap ErrBadSignature,
// ErrMalformed (also: boot after ts), ErrStale or ErrReplay. A rejected datagram
// changes no state.
func (v *Verifier) Verify(datagram []byte) (*Message, error) {
	msg, err := Open(datagram, v.key)
	if err != nil {
		return nil, err
	}
	now := v.now()
	sent := time.UnixMilli(msg.Time)
	if d := now.Sub(sent); d > v.window || d < -v.window {
		return nil, fmt.Errorf("%w: sent %s, received %s", ErrStale, sent.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if prev, ok := v.last[msg.ID]; ok {
		newer := msg.Boot > prev.boot || (msg.Boot == prev.boot && msg.Seq > prev.seq)
		// A position idle for longer than the window is let go of by a later message.
		// Every copy of an earlier message (of this process or an older one) has a ts
		// no later than the position's, so no replay passes this way; and once let go
		// of, a forged position cannot come back (its copies are now too early).
		expired := msg.Time > prev.ts && now.Sub(prev.at) > v.window
		if msg.Time < prev.ts || !(newer || expired) {
			return nil, fmt.Errorf("%w: amphora %s boot %d seq %d ts %d, already accepted boot %d seq %d ts %d",
				ErrReplay, msg.ID, msg.Boot, msg.Seq, msg.Time, prev.boot, prev.seq, prev.ts)
		}
	}
	v.last[msg.ID] = position{boot: msg.Boot, seq: msg.Seq, ts: msg.Time, at: now}
	return msg, nil
}

// Forget drops what the Verifier remembers about an amphora (e.g. once it is deleted).
func (v *Verifier) Forget(amphoraID string) {
	v.mu.Lock()
	delete(v.last, amphoraID)
	v.mu.Unlock()
}
