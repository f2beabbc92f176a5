package chaostest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// The checker's self-test: hand-made histories with known verdicts, so a green
// chaos run means something. Times are in ms for readability.

func op(client int, o, value, read, outcome string, call, ret int64) Record {
	ms := int64(time.Millisecond)
	return Record{Client: client, Node: "n1", Op: o, Kind: "loadbalancer", Obj: "lb1", Value: value, Read: read,
		Call: call * ms, Return: ret * ms, Status: map[string]int{OK: 200, Failed: 409, Unknown: 503}[outcome], Outcome: outcome}
}

func created() Record { return op(0, OpCreate, "setup-lb1", "", OK, 0, 5) }

func TestCheckerCatchesStaleRead(t *testing.T) {
	h := []Record{
		created(),
		op(1, OpWrite, "c1-1", "", OK, 10, 20),
		op(2, OpWrite, "c2-1", "", OK, 30, 40),
		// A read that starts after c2-1's 200 and still sees c1-1: the leader served
		// an index it had applied but not the one that was committed.
		op(3, OpRead, "", "c1-1", OK, 50, 60),
	}
	if v := Check(h, 10*time.Second); v.Result != porcupine.Illegal || len(v.Illegal) != 1 {
		t.Fatalf("stale read: got %s (illegal %v), want Illegal", v.Result, v.Illegal)
	}
}

func TestCheckerAmbiguousWriteEitherWay(t *testing.T) {
	base := []Record{
		created(),
		op(1, OpWrite, "c1-1", "", OK, 10, 20),
		op(2, OpWrite, "c2-1", "", Unknown, 30, 40), // a timeout: applied or not
	}
	for _, seen := range []string{"c1-1", "c2-1"} {
		h := append(append([]Record(nil), base...), op(3, OpRead, "", seen, OK, 100, 110))
		if v := Check(h, 10*time.Second); v.Result != porcupine.Ok {
			t.Errorf("ambiguous write, read %s: got %s, want Ok", seen, v.Result)
		}
	}
	// Seen before it was even sent: impossible, however ambiguous.
	h := append(append([]Record(nil), base...), op(3, OpRead, "", "c2-1", OK, 0, 25))
	if v := Check(h, 10*time.Second); v.Result != porcupine.Illegal {
		t.Errorf("value read before its write was sent: got %s, want Illegal", v.Result)
	}
	// An unknown write applied late is fine, even after a later acknowledged one.
	h = append(append([]Record(nil), base...), op(3, OpWrite, "c3-1", "", OK, 50, 60), op(4, OpRead, "", "c2-1", OK, 70, 80))
	if v := Check(h, 10*time.Second); v.Result != porcupine.Ok {
		t.Errorf("late-applied unknown write: got %s, want Ok", v.Result)
	}
}

func TestCheckerCatches4xxThatTookEffect(t *testing.T) {
	h := []Record{
		created(),
		op(1, OpWrite, "c1-1", "", OK, 10, 20),
		op(2, OpWrite, "c2-1", "", Failed, 30, 40), // a 409: keel says not applied
		op(3, OpRead, "", "c2-1", OK, 50, 60),
	}
	if v := Check(h, 10*time.Second); v.Result != porcupine.Illegal {
		t.Fatalf("409 applied anyway: got %s, want Illegal", v.Result)
	}
	a := Anomalies(h)
	if len(a) != 1 || a[0].Why != "4xx write took effect" || a[0].Write.Status != 409 {
		t.Fatalf("anomalies: %v", a)
	}
}

func TestCheckerCatchesWriteAppliedTwice(t *testing.T) {
	h := []Record{
		created(),
		op(1, OpWrite, "c1-1", "", OK, 10, 20),
		op(2, OpWrite, "c2-1", "", OK, 30, 40),
		op(3, OpRead, "", "c2-1", OK, 50, 60),
		// c1-1's retried command applied a second time, after c2-1.
		op(3, OpRead, "", "c1-1", OK, 70, 80),
	}
	if v := Check(h, 10*time.Second); v.Result != porcupine.Illegal {
		t.Fatalf("write applied twice: got %s, want Illegal", v.Result)
	}
}

func TestCheckerDeletes(t *testing.T) {
	lost := []Record{
		created(),
		op(1, OpDelete, "", "", OK, 10, 20),
		op(2, OpRead, "", "setup-lb1", OK, 30, 40), // an acknowledged delete undone
	}
	if v := Check(lost, 10*time.Second); v.Result != porcupine.Illegal {
		t.Errorf("acknowledged delete lost: got %s, want Illegal", v.Result)
	}
	for _, read := range []string{Gone, "setup-lb1"} {
		h := []Record{
			created(),
			op(1, OpDelete, "", "", Unknown, 10, 20),
			op(2, OpRead, "", read, OK, 30, 40),
		}
		if v := Check(h, 10*time.Second); v.Result != porcupine.Ok {
			t.Errorf("unknown delete, read %s: got %s, want Ok", read, v.Result)
		}
	}
	refused := []Record{
		created(),
		op(1, OpDelete, "", "", Failed, 10, 20), // a 404 or 409: keel says not deleted
		op(2, OpRead, "", Gone, OK, 30, 40),
	}
	if v := Check(refused, 10*time.Second); v.Result != porcupine.Illegal {
		t.Errorf("4xx delete that took effect: got %s, want Illegal", v.Result)
	}
	if a := Anomalies(refused); len(a) != 1 || a[0].Why != "4xx delete took effect" {
		t.Errorf("anomalies: %v", a)
	}
	resurrected := []Record{
		created(),
		op(1, OpDelete, "", "", Unknown, 10, 20),
		op(2, OpRead, "", Gone, OK, 30, 40),
		op(3, OpRead, "", "setup-lb1", OK, 50, 60),
	}
	if v := Check(resurrected, 10*time.Second); v.Result != porcupine.Illegal {
		t.Errorf("deleted object read again: got %s, want Illegal", v.Result)
	}
}

func TestSaveArtifacts(t *testing.T) {
	h := []Record{created(), op(1, OpWrite, "c1-1", "", OK, 10, 20), op(2, OpRead, "", "setup-lb1", OK, 30, 40)}
	v := Check(h, 10*time.Second)
	dir := t.TempDir()
	if err := SaveArtifacts(dir, h, v, nil); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, "history.html"))
	if err != nil || !strings.Contains(string(html), "c1-1") {
		t.Fatalf("visualization: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "history.jsonl")); err != nil || strings.Count(string(b), "\n") != 3 {
		t.Fatalf("history.jsonl: %v %q", err, b)
	}
}
