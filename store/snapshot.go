package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/encoding/protodelim"

	"keel/store/storepb"
)

// snapshotFormat versions the snapshot stream: a SnapshotHeader, then one
// SnapshotRecord per entity, each length-delimited.
const snapshotFormat = 1

type fsmSnapshot struct {
	db          *memdb.MemDB
	applied     uint64
	lastVersion uint64
}

// Persist streams the captured tables to the sink; it runs concurrently with Apply,
// which is safe because the memdb snapshot is immutable.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.write(sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	hdr := &storepb.SnapshotHeader{AppliedIndex: s.applied, LastVersion: s.lastVersion, Format: snapshotFormat}
	if _, err := protodelim.MarshalTo(bw, hdr); err != nil {
		return err
	}
	txn := s.db.Txn(false)
	it, err := txn.Get(TableLoadBalancers, IndexID)
	if err != nil {
		return err
	}
	var count uint64
	for raw := it.Next(); raw != nil; raw = it.Next() {
		rec := &storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_LoadBalancer{LoadBalancer: raw.(*storepb.LoadBalancer)}}
		if _, err := protodelim.MarshalTo(bw, rec); err != nil {
			return err
		}
		count++
	}
	end := &storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_EndCount{EndCount: count}}
	if _, err := protodelim.MarshalTo(bw, end); err != nil {
		return err
	}
	return bw.Flush()
}

func (s *fsmSnapshot) Release() {}

// readSnapshot builds fresh tables from a snapshot stream.
func readSnapshot(r io.Reader) (*memdb.MemDB, *storepb.SnapshotHeader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	opts := protodelim.UnmarshalOptions{MaxSize: 64 << 20}
	hdr := &storepb.SnapshotHeader{}
	if err := opts.UnmarshalFrom(br, hdr); err != nil {
		return nil, nil, fmt.Errorf("store: snapshot header: %w", err)
	}
	if hdr.Format != snapshotFormat {
		return nil, nil, fmt.Errorf("store: snapshot format %d, want %d", hdr.Format, snapshotFormat)
	}
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, nil, err
	}
	txn := db.Txn(true)
	var count uint64
	for {
		rec := &storepb.SnapshotRecord{}
		err := opts.UnmarshalFrom(br, rec)
		if errors.Is(err, io.EOF) {
			txn.Abort()
			return nil, nil, errors.New("store: snapshot truncated (no end record)")
		}
		if err != nil {
			txn.Abort()
			return nil, nil, fmt.Errorf("store: snapshot record: %w", err)
		}
		if end, isEnd := rec.Entity.(*storepb.SnapshotRecord_EndCount); isEnd {
			if end.EndCount != count {
				txn.Abort()
				return nil, nil, fmt.Errorf("store: snapshot has %d records, end says %d", count, end.EndCount)
			}
			break
		}
		count++
		switch e := rec.Entity.(type) {
		case *storepb.SnapshotRecord_LoadBalancer:
			err = txn.Insert(TableLoadBalancers, e.LoadBalancer)
		default:
			err = fmt.Errorf("unknown snapshot record %T", rec.Entity)
		}
		if err != nil {
			txn.Abort()
			return nil, nil, fmt.Errorf("store: snapshot restore: %w", err)
		}
	}
	txn.Commit()
	return db, hdr, nil
}
