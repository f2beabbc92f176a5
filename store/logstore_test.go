package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"keel/store/storepb"
)

// boltLogRange is the first and last index of the log in dir's raft.db.
func boltLogRange(t *testing.T, dir string) (uint64, uint64) {
	t.Helper()
	b, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft", "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	first, err := b.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	last, err := b.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	return first, last
}

// A data dir written with the bolt log store keeps its entries when it is next
// opened with the WAL: they are copied into the WAL and dropped from raft.db, and
// the data dir can then not be opened with bolt again.
func TestLogStoreMovesABoltLogIntoTheWAL(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	n := openSingleLog(t, dir, addr, LogStoreBolt)
	const total = 50
	for i := 0; i < total; i++ {
		if res, err := n.Propose(ctx, createCmd(fmt.Sprint("r", i), testLB(fmt.Sprintf("lb%03d", i), "p", int64(i)))); err != nil || res.Code != storepb.CommandResult_OK {
			t.Fatalf("create %d: %v %v", i, res, err)
		}
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "raft", "wal")); !os.IsNotExist(err) {
		t.Fatalf("bolt log store made a WAL directory: %v", err)
	}
	first, last := boltLogRange(t, dir)
	if last < total {
		t.Fatalf("raft.db holds entries %d..%d, want at least %d", first, last, total)
	}

	n = openSingleLog(t, dir, addr, LogStoreWAL)
	if err := n.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	if c := n.State().CountLoadBalancers(); c != total {
		t.Fatalf("%d load balancers after moving the log, want %d", c, total)
	}
	var entry raft.Log
	if err := n.logs.GetLog(first, &entry); err != nil {
		t.Fatalf("entry %d (the bolt log's first) not in the WAL: %v", first, err)
	}
	if res, err := n.Propose(ctx, createCmd("after", testLB("after-move", "p", 999))); err != nil || res.Code != storepb.CommandResult_OK {
		t.Fatalf("create after the move: %v %v", res, err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, last := boltLogRange(t, dir); last != 0 {
		t.Fatalf("raft.db still holds the log (last index %d) after the move", last)
	}
	if _, err := os.Stat(filepath.Join(dir, "raft", "wal.copying")); !os.IsNotExist(err) {
		t.Fatalf("the copy's temporary directory is left: %v", err)
	}

	_, err := Open(Config{NodeID: "n1", DataDir: dir, RaftAddr: addr, LogOutput: os.Stderr, LogStore: LogStoreBolt})
	if err == nil || !strings.Contains(err.Error(), "cannot be opened with log store \"bolt\"") {
		t.Fatalf("bolt log store on a WAL data dir: %v, want a refusal", err)
	}

	n = openSingleLog(t, dir, addr, LogStoreWAL)
	defer n.Close()
	if err := n.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	if c := n.State().CountLoadBalancers(); c != total+1 {
		t.Fatalf("%d load balancers after a restart on the WAL, want %d", c, total+1)
	}
}

// A copy that a crash interrupted (wal.copying) is started over; a crash after
// the copy was renamed into place, before raft.db dropped its entries, leaves
// the WAL as the log and raft.db's copy is dropped.
func TestLogStoreCopyIsAtomic(t *testing.T) {
	dir := t.TempDir()
	bolt, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	var logs []*raft.Log
	for i := uint64(5); i <= 40; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 2, Type: raft.LogCommand, Data: []byte(fmt.Sprint("entry ", i))})
	}
	if err := bolt.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	// An interrupted copy: a partial directory with junk in it.
	if err := os.MkdirAll(filepath.Join(dir, "wal.copying"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "wal.copying", "junk"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := copyBoltLogToWAL(dir, filepath.Join(dir, "wal"), bolt); err != nil {
		t.Fatal(err)
	}
	// The crash: raft.db still holds every entry, the WAL is in place.
	if last, _ := bolt.LastIndex(); last != 40 {
		t.Fatalf("bolt's last index %d before reopening, want 40", last)
	}
	store, closer, err := openLogStore(dir, LogStoreWAL, bolt)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if last, _ := bolt.LastIndex(); last != 0 {
		t.Fatalf("raft.db kept its copy of the log (last index %d)", last)
	}
	first, _ := store.FirstIndex()
	last, _ := store.LastIndex()
	if first != 5 || last != 40 {
		t.Fatalf("WAL holds %d..%d, want 5..40", first, last)
	}
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := store.GetLog(i, &l); err != nil || string(l.Data) != fmt.Sprint("entry ", i) || l.Term != 2 {
			t.Fatalf("entry %d: %v %q term %d", i, err, l.Data, l.Term)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "wal.copying")); !os.IsNotExist(err) {
		t.Fatalf("wal.copying left behind: %v", err)
	}
	if _, _, err := openLogStore(t.TempDir(), "leveldb", bolt); err == nil || !strings.Contains(err.Error(), `unknown Raft log store "leveldb"`) {
		t.Fatalf("unknown log store: %v", err)
	}
}
