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

// Verifier is the controller side: it accepts a datagram only if its signature is
// valid, its timestamp is inside the window and it is newer than anything accepted
// before from the same amphora: a larger Boot, or the same Boot and a larger Seq.
// It is safe for concurrent use.
type Verifier struct {
	key    []byte
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	last map[string]position
}

type position struct {
	boot int64
	seq  uint64
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
// ErrMalformed, ErrStale or ErrReplay. A rejected datagram changes no state.
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
		if msg.Boot < prev.boot || (msg.Boot == prev.boot && msg.Seq <= prev.seq) {
			return nil, fmt.Errorf("%w: amphora %s boot %d seq %d, already accepted boot %d seq %d",
				ErrReplay, msg.ID, msg.Boot, msg.Seq, prev.boot, prev.seq)
		}
	}
	v.last[msg.ID] = position{boot: msg.Boot, seq: msg.Seq}
	return msg, nil
}

// Forget drops what the Verifier remembers about an amphora (e.g. once it is deleted).
func (v *Verifier) Forget(amphoraID string) {
	v.mu.Lock()
	delete(v.last, amphoraID)
	v.mu.Unlock()
}
