// Package heartbeat owns the agent's UDP heartbeat: the message (Octavia's version 3
// plus keel's boot id and send time), its wire envelope (zlib-compressed JSON followed
// by the hex HMAC-SHA256 of the compressed bytes), the sender that emits one datagram
// per interval to every controller, and the controller-side Verifier that checks the
// signature and rejects stale, replayed and out-of-order datagrams. docs/heartbeat.md
// is the wire contract.
package heartbeat

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Version is the message version ("ver"): Octavia's v3 (counters are deltas).
const Version = 3

// MaxDatagram is the largest datagram Encode produces and Verify accepts.
const MaxDatagram = 65507

// maxJSON bounds decompression (a zlib bomb cannot exhaust memory).
const maxJSON = 4 << 20

const sigLen = 64 // hex of a SHA-256 HMAC

// Message is one heartbeat.
type Message struct {
	// ID is the amphora UUID.
	ID string `json:"id"`
	// Seq counts messages from 0 within one agent process (one Boot).
	Seq uint64 `json:"seq"`
	// Ver is Version.
	Ver int `json:"ver"`
	// Boot identifies the sending agent process: its start time in Unix nanoseconds.
	// A restarted agent has a larger Boot, so its Seq may start again from 0. It is
	// never after Time (Open refuses such a message).
	Boot int64 `json:"boot"`
	// Time is when the message was built, Unix milliseconds.
	Time int64 `json:"ts"`
	// Listeners maps listener UUIDs to their state; only running listeners appear.
	Listeners map[string]Listener `json:"listeners"`
	// Pools maps "<pool UUID>:<listener UUID>" to the pool's state.
	Pools map[string]Pool `json:"pools"`
}

// Listener is a listener's status and counters.
type Listener struct {
	// Status is haproxy's frontend status: OPEN, FULL or STOP.
	Status string `json:"status"`
	Stats  Stats  `json:"stats"`
}

// Stats are a listener's counters: TX, RX, TotConns and Ereq are deltas since the
// previous message of the same Boot; Conns is the current number of connections.
type Stats struct {
	TX       uint64 `json:"tx"`
	RX       uint64 `json:"rx"`
	Conns    uint64 `json:"conns"`
	TotConns uint64 `json:"totconns"`
	Ereq     uint64 `json:"ereq"`
}

// Pool is a pool's status (UP, DOWN) and its members' statuses by member UUID (UP,
// DOWN, DRAIN, MAINT, "no check").
type Pool struct {
	Status  string            `json:"status"`
	Members map[string]string `json:"members"`
}

// Typed failures of Open and Verify (use errors.Is).
var (
	ErrBadSignature = errors.New("heartbeat: bad signature")
	ErrMalformed    = errors.New("heartbeat: malformed message")
	ErrStale        = errors.New("heartbeat: timestamp outside the accepted window")
	ErrReplay       = errors.New("heartbeat: replayed or out-of-order message")
)

// Encode builds the datagram for msg: zlib(JSON) followed by the 64 hex characters of
// HMAC-SHA256(key, zlib(JSON)).
func Encode(msg *Message, key []byte) ([]byte, error) {
	js, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.Write(js)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(buf.Bytes())
	out := hex.AppendEncode(buf.Bytes(), mac.Sum(nil))
	if len(out) > MaxDatagram {
		return nil, fmt.Errorf("heartbeat: datagram of %d bytes exceeds %d", len(out), MaxDatagram)
	}
	return out, nil
}

// Open checks a datagram's signature and decodes its message, without any freshness
// or replay check (that is Verifier's job).
func Open(datagram, key []byte) (*Message, error) {
	if len(datagram) <= sigLen || len(datagram) > MaxDatagram {
		return nil, fmt.Errorf("%w: datagram of %d bytes", ErrMalformed, len(datagram))
	}
	payload, sigHex := datagram[:len(datagram)-sigLen], datagram[len(datagram)-sigLen:]
	sig := make([]byte, sha256.Size)
	if _, err := hex.Decode(sig, sigHex); err != nil {
		return nil, fmt.Errorf("%w: signature is not hex", ErrBadSignature)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, ErrBadSignature
	}
	zr, err := zlib.NewReader(bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	js, err := io.ReadAll(io.LimitReader(zr, maxJSON+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(js) > maxJSON {
		return nil, fmt.Errorf("%w: decompressed message exceeds %d bytes", ErrMalformed, maxJSON)
	}
	var msg Message
	if err := json.Unmarshal(js, &msg); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if msg.ID == "" || msg.Ver != Version || msg.Boot <= 0 {
		return nil, fmt.Errorf("%w: id %q, ver %d, boot %d", ErrMalformed, msg.ID, msg.Ver, msg.Boot)
	}
	// A process cannot send before it started: boot (ns) is at most ts (ms), in the
	// same clock. With ts bounded by the Verifier's window, a boot from the future
	// beyond the window is refused.
	if msg.Boot/int64(time.Millisecond) > msg.Time {
		return nil, fmt.Errorf("%w: boot %d is after the message's ts %d", ErrMalformed, msg.Boot, msg.Time)
	}
	return &msg, nil
}
