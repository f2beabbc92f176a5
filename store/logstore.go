package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	armonmetrics "github.com/armon/go-metrics"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	walmetrics "github.com/hashicorp/raft-wal/metrics"
	"github.com/hashicorp/raft-wal/migrate"
)

// Raft log stores a node can keep its log in (Config.LogStore). The stable store
// (current term, vote) is raft-boltdb's raft.db with either.
const (
	// LogStoreWAL keeps the log in hashicorp/raft-wal's append-only segment files
	// (DataDir/raft/wal): one write and one fsync per append, where bolt writes
	// its dirty B-tree pages and its meta page with an fdatasync each.
	LogStoreWAL = "wal"
	// LogStoreBolt keeps the log in raft.db beside the stable store (raft-boltdb):
	// what keel used before the WAL.
	LogStoreBolt = "bolt"
)

// openLogStore opens the Raft log of the given kind in dir, where bolt (raft.db)
// is already open as the stable store. It returns the log and what closes it
// apart from bolt (nil for LogStoreBolt).
//
// A data dir keeps its log where it has it: choosing the WAL for a data dir
// whose raft.db holds entries copies them into a new WAL first (into a temporary
// directory renamed into place once complete, so a crash mid-copy leaves the
// bolt log as it was) and then deletes them from raft.db. Choosing bolt for a
// data dir that has a WAL is refused: nothing moves a log back.
func openLogStore(dir, kind string, bolt *raftboltdb.BoltStore) (raft.LogStore, io.Closer, error) {
	walDir := filepath.Join(dir, "wal")
	_, statErr := os.Stat(walDir)
	hasWAL := statErr == nil
	if statErr != nil && !errors.Is(statErr, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("store: raft log: %w", statErr)
	}
	switch kind {
	case LogStoreBolt:
		if hasWAL {
			return nil, nil, fmt.Errorf("store: this data dir keeps its Raft log in %s (log store %q); it cannot be opened with log store %q",
				walDir, LogStoreWAL, LogStoreBolt)
		}
		return bolt, nil, nil
	case LogStoreWAL:
	default:
		return nil, nil, fmt.Errorf("store: unknown Raft log store %q (%s or %s)", kind, LogStoreWAL, LogStoreBolt)
	}

	boltLast, err := bolt.LastIndex()
	if err != nil {
		return nil, nil, fmt.Errorf("store: raft log: %w", err)
	}
	if !hasWAL && boltLast > 0 {
		if err := copyBoltLogToWAL(dir, walDir, bolt); err != nil {
			return nil, nil, err
		}
	}
	if err := os.MkdirAll(walDir, 0o750); err != nil {
		return nil, nil, err
	}
	w, err := wal.Open(walDir, wal.WithMetricsCollector(
		walmetrics.NewGoMetricsCollector([]string{"raft", "wal"}, nil, armonmetrics.Default())))
	if err != nil {
		return nil, nil, fmt.Errorf("store: open raft log %s: %w", walDir, err)
	}
	if boltLast > 0 {
		// The WAL is complete (it was renamed into place only then): the copy in
		// raft.db is what a crash after the rename left behind.
		first, err := bolt.FirstIndex()
		if err == nil {
			err = bolt.DeleteRange(first, boltLast)
		}
		if err != nil {
			w.Close()
			return nil, nil, fmt.Errorf("store: drop the Raft log copied out of raft.db: %w", err)
		}
	}
	return w, w, nil
}

// copyBoltLogToWAL copies every entry of bolt's log into a new WAL at walDir.
func copyBoltLogToWAL(dir, walDir string, bolt *raftboltdb.BoltStore) error {
	tmp := filepath.Join(dir, "wal.copying")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.Mkdir(tmp, 0o750); err != nil {
		return err
	}
	w, err := wal.Open(tmp)
	if err != nil {
		return fmt.Errorf("store: create raft log %s: %w", tmp, err)
	}
	if err := migrate.CopyLogs(context.Background(), w, bolt, 4<<20, nil); err != nil {
		w.Close()
		return fmt.Errorf("store: copy the Raft log out of raft.db: %w", err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, walDir); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
