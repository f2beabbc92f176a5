package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/encoding/protodelim"

	"keel/store/storepb"
)

// snapshotFormat versions the snapshot stream: a SnapshotHeader, then one
// SnapshotRecord per entity, each length-delimited.
const snapshotFormat = 1

type fsmSnapshot struct {
	state       *State
	applied     uint64
	lastVersion uint64
}

// Persist streams the captured tables to the sink; it runs concurrently with Apply,
// which is safe because a published State is immutable.
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
	var count uint64
	var werr error
	s.state.LoadBalancers.All(func(lb *storepb.LoadBalancer) bool {
		rec := &storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_LoadBalancer{LoadBalancer: lb}}
		_, werr = protodelim.MarshalTo(bw, rec)
		count++
		return werr == nil
	})
	if werr != nil {
		return werr
	}
	end := &storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_EndCount{EndCount: count}}
	if _, err := protodelim.MarshalTo(bw, end); err != nil {
		return err
	}
	return bw.Flush()
}

func (s *fsmSnapshot) Release() {}

// readSnapshot builds fresh tables from a snapshot stream.
func readSnapshot(r io.Reader) (*State, *storepb.SnapshotHeader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	opts := protodelim.UnmarshalOptions{MaxSize: 64 << 20}
	hdr := &storepb.SnapshotHeader{}
	if err := opts.UnmarshalFrom(br, hdr); err != nil {
		return nil, nil, fmt.Errorf("store: snapshot header: %w", err)
	}
	if hdr.Format != snapshotFormat {
		return nil, nil, fmt.Errorf("store: snapshot format %d, want %d", hdr.Format, snapshotFormat)
	}
	st := newState()
	var count uint64
	for {
		rec := &storepb.SnapshotRecord{}
		err := opts.UnmarshalFrom(br, rec)
		if errors.Is(err, io.EOF) {
			return nil, nil, errors.New("store: snapshot truncated (no end record)")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("store: snapshot record: %w", err)
		}
		if end, isEnd := rec.Entity.(*storepb.SnapshotRecord_EndCount); isEnd {
			if end.EndCount != count {
				return nil, nil, fmt.Errorf("store: snapshot has %d records, end says %d", count, end.EndCount)
			}
			break
		}
		count++
		switch e := rec.Entity.(type) {
		case *storepb.SnapshotRecord_LoadBalancer:
			st.LoadBalancers.Put(internLoadBalancer(e.LoadBalancer))
		default:
			return nil, nil, fmt.Errorf("store: unknown snapshot record %T", rec.Entity)
		}
	}
	return st, hdr, nil
}
