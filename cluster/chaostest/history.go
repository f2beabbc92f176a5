package chaostest

import (
	"bufio"
	"encoding/json"
	"os"
	"sort"
	"sync"
	"time"
)

// Operation kinds in a history.
const (
	OpRead   = "read"   // GET one object: its name, or Gone
	OpWrite  = "write"  // PUT a new, unique name
	OpCreate = "create" // POST with a unique name; the id comes back in the 201
	OpDelete = "delete" // DELETE
)

// Outcomes of an operation as the client saw it.
const (
	// OK is a 2xx: the operation took effect.
	OK = "ok"
	// Failed is a 4xx: keel guarantees it took no effect (a PENDING_* 409, a 404 on
	// a deleted object, a 400). The checker drops it: if its value is ever read,
	// the history is not linearizable.
	Failed = "fail"
	// Unknown is a 5xx, a timeout or a reset connection: it may or may not have
	// taken effect, now or later.
	Unknown = "unknown"
)

// Gone is what a read returns for an object that does not exist (404) or is being
// deleted (PENDING_DELETE, DELETED): after a DELETE's 204 the object is gone.
const Gone = "<gone>"

// Record is one client operation, as written to the JSONL history.
type Record struct {
	Client int    `json:"client"`
	Node   string `json:"node"`
	Op     string `json:"op"`
	Kind   string `json:"kind"` // loadbalancer, listener, member
	Obj    string `json:"obj"`  // object id ("" for a create whose id never came back)
	Value  string `json:"value,omitempty"`
	// Read is what a read saw: the object's name or Gone.
	Read    string `json:"read,omitempty"`
	Call    int64  `json:"call"`   // ns since the run began (monotonic)
	Return  int64  `json:"return"` // ns since the run began
	Status  int    `json:"status"`
	Err     string `json:"err,omitempty"`
	Outcome string `json:"outcome"`
}

// Recorder collects a history from concurrent clients on one monotonic clock.
type Recorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []Record
}

// NewRecorder starts the clock.
func NewRecorder() *Recorder { return &Recorder{start: time.Now()} }

// Now is the time since the recorder started, in ns.
func (r *Recorder) Now() int64 { return int64(time.Since(r.start)) }

// At converts a run time (ns) back to wall-clock time.
func (r *Recorder) At(ns int64) time.Time { return r.start.Add(time.Duration(ns)) }

// Add appends a finished operation.
func (r *Recorder) Add(rec Record) {
	r.mu.Lock()
	r.ops = append(r.ops, rec)
	r.mu.Unlock()
}

// Records returns a copy of the history, ordered by call time.
func (r *Recorder) Records() []Record {
	r.mu.Lock()
	out := append([]Record(nil), r.ops...)
	r.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Call < out[j].Call })
	return out
}

// WriteJSONL saves a history, one record per line.
func WriteJSONL(path string, recs []Record) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, rec := range recs {
		if err := enc.Encode(rec); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Counts tallies a history by outcome.
type Counts struct{ Ops, OK, Failed, Unknown, Reads, Writes int }

// Count tallies recs.
func Count(recs []Record) Counts {
	var c Counts
	for _, r := range recs {
		c.Ops++
		switch r.Outcome {
		case OK:
			c.OK++
		case Failed:
			c.Failed++
		case Unknown:
			c.Unknown++
		}
		if r.Op == OpRead {
			c.Reads++
		} else {
			c.Writes++
		}
	}
	return c
}
