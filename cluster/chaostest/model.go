package chaostest

import (
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// Per object the model is a register holding the object's name, with two extra
// states: absent (before its create) and Gone (after its delete). Every write
// writes a value no other operation writes, so a read names the one write it saw.

const absent = "<absent>"

// Input is an operation's input in the porcupine history.
type Input struct {
	Op    string
	Obj   string
	Value string // the name a write or create sets
}

// Output is an operation's output in the porcupine history.
type Output struct {
	Read    string // what a read saw (a name or Gone)
	Unknown bool   // the client does not know whether it took effect
}

func gone(state string) bool { return state == absent || state == Gone }

// step is the sequential specification of one object.
func step(state string, in Input, out Output) (bool, string) {
	switch in.Op {
	case OpRead:
		if gone(state) {
			return out.Read == Gone, state
		}
		return out.Read == state, state
	case OpCreate:
		return state == absent, in.Value
	case OpWrite:
		// A write in the history took effect (an unknown one was seen by a read;
		// one never seen is dropped), so the object existed.
		return !gone(state), in.Value
	case OpDelete:
		if gone(state) {
			// Only an unknown delete may find the object gone: it was then a no-op.
			return out.Unknown && state == Gone, state
		}
		return true, Gone
	}
	return false, state
}

// Model is the porcupine model: one register per object id.
var Model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byObj := map[string][]porcupine.Operation{}
		var order []string
		for _, op := range history {
			obj := op.Input.(Input).Obj
			if _, ok := byObj[obj]; !ok {
				order = append(order, obj)
			}
			byObj[obj] = append(byObj[obj], op)
		}
		out := make([][]porcupine.Operation, 0, len(order))
		for _, obj := range order {
			out = append(out, byObj[obj])
		}
		return out
	},
	Init: func() interface{} { return absent },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		return step(state.(string), input.(Input), output.(Output))
	},
	Equal: func(a, b interface{}) bool { return a.(string) == b.(string) },
	Hash: func(state interface{}) uint64 {
		h := fnv.New64a()
		h.Write([]byte(state.(string)))
		return h.Sum64()
	},
	DescribeOperation: func(input, output interface{}) string {
		in, out := input.(Input), output.(Output)
		var s string
		switch in.Op {
		case OpRead:
			s = fmt.Sprintf("read %s → %s", short(in.Obj), out.Read)
		default:
			s = fmt.Sprintf("%s %s := %s", in.Op, short(in.Obj), in.Value)
			if in.Op == OpDelete {
				s = fmt.Sprintf("delete %s", short(in.Obj))
			}
		}
		if out.Unknown {
			s += " (unknown outcome)"
		}
		return s
	},
	DescribeState: func(state interface{}) string { return state.(string) },
	DescribeOperationMetadata: func(info interface{}) string {
		if info == nil {
			return ""
		}
		r := info.(Record)
		return fmt.Sprintf("client %d on %s: HTTP %d %s", r.Client, r.Node, r.Status, r.Err)
	},
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// endOfTime is the return time given to an unknown operation whose effect nobody
// observed but which cannot be dropped (a delete): it may take effect at any
// point after its call, however late.
const endOfTime = math.MaxInt64 / 4

// Operations turns a recorded history into porcupine operations:
//   - a 4xx (Failed) operation took no effect: dropped;
//   - a failed read tells nothing: dropped;
//   - an unknown write or create whose unique value some read saw took effect by
//     that read's return: its return is patched to the first such read's return
//     (etcd's patch_history). Never seen: dropped, indistinguishable from never
//     applied. A create without an id is dropped too (no one can read it);
//   - an unknown delete stays open until the end of time.
func Operations(recs []Record) []porcupine.Operation {
	firstSeen := map[string]int64{} // obj + "\x00" + value → earliest read return
	for _, r := range recs {
		if r.Op == OpRead && r.Outcome == OK && r.Read != Gone {
			k := r.Obj + "\x00" + r.Read
			if t, ok := firstSeen[k]; !ok || r.Return < t {
				firstSeen[k] = r.Return
			}
		}
	}
	var ops []porcupine.Operation
	for _, r := range recs {
		if r.Outcome == Failed || r.Obj == "" {
			continue
		}
		in := Input{Op: r.Op, Obj: r.Obj, Value: r.Value}
		out := Output{Read: r.Read, Unknown: r.Outcome == Unknown}
		ret := r.Return
		if r.Outcome == Unknown {
			switch r.Op {
			case OpRead:
				continue
			case OpWrite, OpCreate:
				seen, ok := firstSeen[r.Obj+"\x00"+r.Value]
				if !ok {
					continue
				}
				ret = max(seen, r.Call) // seen before its call: the check will say so
			case OpDelete:
				ret = endOfTime
			}
		}
		ops = append(ops, porcupine.Operation{ClientId: r.Client, Input: in, Call: r.Call, Output: out, Return: ret, Metadata: r})
	}
	return ops
}

// Anomaly is a read that no acknowledged or unknown write explains by itself:
// the cheap, direct explanation next to porcupine's verdict.
type Anomaly struct {
	Read  Record
	Write *Record // the write that set the value, if any
	Why   string
}

func (a Anomaly) String() string {
	s := fmt.Sprintf("%s: %s %s read %q on %s at %v", a.Why, a.Read.Kind, short(a.Read.Obj), a.Read.Read,
		a.Read.Node, time.Duration(a.Read.Return).Round(time.Millisecond))
	if a.Write != nil {
		s += fmt.Sprintf("; its %s on %s got HTTP %d %s (called at %v)", a.Write.Op, a.Write.Node, a.Write.Status,
			a.Write.Err, time.Duration(a.Write.Call).Round(time.Millisecond))
	}
	return s
}

// Anomalies lists reads of values whose write was refused with a 4xx (it must not
// have taken effect) or that nobody wrote.
func Anomalies(recs []Record) []Anomaly {
	writes := map[string]*Record{}
	for i := range recs {
		r := &recs[i]
		if r.Op == OpWrite || r.Op == OpCreate {
			writes[r.Value] = r
		}
	}
	var out []Anomaly
	reported := map[string]bool{}
	for _, r := range recs {
		if r.Op != OpRead || r.Outcome != OK || r.Read == Gone || reported[r.Read] {
			continue
		}
		w, ok := writes[r.Read]
		switch {
		case !ok:
			if isWorkloadValue(r.Read) {
				reported[r.Read] = true
				out = append(out, Anomaly{Read: r, Why: "value never written"})
			}
		case w.Outcome == Failed:
			reported[r.Read] = true
			out = append(out, Anomaly{Read: r, Write: w, Why: "4xx write took effect"})
		}
	}
	out = append(out, vanished(recs)...)
	sort.Slice(out, func(i, j int) bool { return out[i].Read.Return < out[j].Read.Return })
	return out
}

// vanished finds objects read gone after an acknowledged create although no delete
// of theirs was acknowledged or left unknown before that read: either a delete
// answered with a 4xx took effect after all, or nothing asked for it.
func vanished(recs []Record) []Anomaly {
	type life struct {
		created      bool
		mayDelete    int64 // earliest call of an ok or unknown delete (0: none)
		failedDelete *Record
		reported     bool
	}
	objs := map[string]*life{}
	get := func(id string) *life {
		if objs[id] == nil {
			objs[id] = &life{}
		}
		return objs[id]
	}
	for i := range recs {
		r := &recs[i]
		if r.Obj == "" {
			continue
		}
		l := get(r.Obj)
		switch {
		case r.Op == OpCreate && r.Outcome == OK:
			l.created = true
		case r.Op == OpDelete && r.Outcome != Failed:
			if l.mayDelete == 0 || r.Call < l.mayDelete {
				l.mayDelete = r.Call
			}
		case r.Op == OpDelete && l.failedDelete == nil:
			l.failedDelete = r
		}
	}
	var out []Anomaly
	for _, r := range recs { // ordered by call
		if r.Op != OpRead || r.Outcome != OK || r.Read != Gone {
			continue
		}
		l := objs[r.Obj]
		if l == nil || !l.created || l.reported || (l.mayDelete != 0 && l.mayDelete < r.Return) {
			continue
		}
		l.reported = true
		if l.failedDelete != nil && l.failedDelete.Call < r.Return {
			out = append(out, Anomaly{Read: r, Write: l.failedDelete, Why: "4xx delete took effect"})
		} else {
			out = append(out, Anomaly{Read: r, Why: "acknowledged object vanished"})
		}
	}
	return out
}

// isWorkloadValue tells the names the workload writes ("c3-17", "setup-…",
// "probe-12").
func isWorkloadValue(v string) bool {
	var c, n int
	if _, err := fmt.Sscanf(v, "c%d-%d", &c, &n); err == nil {
		return true
	}
	if _, err := fmt.Sscanf(v, "probe-%d", &n); err == nil {
		return true
	}
	return len(v) > 6 && v[:6] == "setup-"
}

// Verdict is porcupine's answer on a history.
type Verdict struct {
	Result  porcupine.CheckResult
	Info    porcupine.LinearizationInfo
	Ops     int
	Illegal []string // objects whose partition is not linearizable
}

// Check runs porcupine on a recorded history.
func Check(recs []Record, timeout time.Duration) Verdict {
	ops := Operations(recs)
	res, info := porcupine.CheckOperationsVerbose(Model, ops, timeout)
	v := Verdict{Result: res, Info: info, Ops: len(ops)}
	if res == porcupine.Illegal {
		// Which partitions fail: check each object alone (cheap: they are small).
		for _, part := range Model.Partition(ops) {
			if porcupine.CheckOperationsTimeout(Model, part, timeout) == porcupine.Illegal {
				v.Illegal = append(v.Illegal, part[0].Input.(Input).Obj)
			}
		}
	}
	return v
}
