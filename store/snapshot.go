package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/encoding/protodelim"

	"keel/cluster/metrics"
	"keel/store/storepb"
)

// snapshotFormat versions the snapshot stream: a SnapshotHeader, then one
// SnapshotRecord per entity, each length-delimited.
const snapshotFormat = 1

type fsmSnapshot struct {
	state       *State
	applied     uint64
	lastVersion uint64
	clock       int64
	requests    []*storepb.AppliedRequest
}

// Persist streams the captured tables to the sink; it runs concurrently with Apply,
// which is safe because a published State is immutable.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	start := time.Now()
	w := &countingWriter{w: sink}
	if err := s.write(w); err != nil {
		_ = sink.Cancel()
		return err
	}
	if err := sink.Close(); err != nil {
		return err
	}
	metrics.ObserveSnapshot(time.Since(start), w.n)
	return nil
}

// countingWriter counts the bytes written through it (a snapshot's size).
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (s *fsmSnapshot) write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	hdr := &storepb.SnapshotHeader{AppliedIndex: s.applied, LastVersion: s.lastVersion, Format: snapshotFormat, ClockUnixMs: s.clock}
	if _, err := protodelim.MarshalTo(bw, hdr); err != nil {
		return err
	}
	var count uint64
	var werr error
	emit := func(rec *storepb.SnapshotRecord) bool {
		_, werr = protodelim.MarshalTo(bw, rec)
		count++
		return werr == nil
	}
	st := s.state
	st.LoadBalancers.All(func(x *storepb.LoadBalancer) bool {
		return emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_LoadBalancer{LoadBalancer: x}})
	})
	for _, k := range childKinds {
		if werr == nil {
			k.snapshot(st, emit)
		}
	}
	if st.AmphoraSecrets != nil && werr == nil {
		emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_AmphoraSecrets{AmphoraSecrets: st.AmphoraSecrets}})
	}
	st.Quotas.All(func(x *storepb.Quota) bool {
		return werr == nil && emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_Quota{Quota: x}})
	})
	st.Flavors.All(func(x *storepb.Flavor) bool {
		return werr == nil && emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_Flavor{Flavor: x}})
	})
	st.FlavorProfiles.All(func(x *storepb.FlavorProfile) bool {
		return werr == nil && emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_FlavorProfile{FlavorProfile: x}})
	})
	st.AvailabilityZones.All(func(x *storepb.AvailabilityZone) bool {
		return werr == nil && emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_AvailabilityZone{AvailabilityZone: x}})
	})
	st.AvailabilityZoneProfiles.All(func(x *storepb.AvailabilityZoneProfile) bool {
		return werr == nil && emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_AvailabilityZoneProfile{AvailabilityZoneProfile: x}})
	})
	st.ListenerStatistics.All(func(x *storepb.ListenerStatistics) bool {
		return werr == nil && emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_ListenerStatistics{ListenerStatistics: x}})
	})
	if werr == nil {
		st.blazar.snapshot(emit)
	}
	if werr == nil {
		st.mogan.snapshot(emit)
	}
	for _, r := range s.requests {
		if werr != nil || !emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_AppliedRequest{AppliedRequest: r}}) {
			break
		}
	}
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

// readSnapshot builds fresh tables (and the remembered requests) from a snapshot
// stream.
func readSnapshot(r io.Reader) (*State, *storepb.SnapshotHeader, []*storepb.AppliedRequest, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	opts := protodelim.UnmarshalOptions{MaxSize: 64 << 20}
	hdr := &storepb.SnapshotHeader{}
	if err := opts.UnmarshalFrom(br, hdr); err != nil {
		return nil, nil, nil, fmt.Errorf("store: snapshot header: %w", err)
	}
	if hdr.Format != snapshotFormat {
		return nil, nil, nil, fmt.Errorf("store: snapshot format %d, want %d", hdr.Format, snapshotFormat)
	}
	st := newState()
	var requests []*storepb.AppliedRequest
	var count uint64
	for {
		rec := &storepb.SnapshotRecord{}
		err := opts.UnmarshalFrom(br, rec)
		if errors.Is(err, io.EOF) {
			return nil, nil, nil, errors.New("store: snapshot truncated (no end record)")
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("store: snapshot record: %w", err)
		}
		if end, isEnd := rec.Entity.(*storepb.SnapshotRecord_EndCount); isEnd {
			if end.EndCount != count {
				return nil, nil, nil, fmt.Errorf("store: snapshot has %d records, end says %d", count, end.EndCount)
			}
			break
		}
		count++
		if restoreChild(st, rec) {
			continue
		}
		switch e := rec.Entity.(type) {
		case *storepb.SnapshotRecord_LoadBalancer:
			st.LoadBalancers.Put(internLoadBalancer(e.LoadBalancer))
		case *storepb.SnapshotRecord_Quota:
			st.Quotas.Put(e.Quota)
		case *storepb.SnapshotRecord_Flavor:
			st.Flavors.Put(e.Flavor)
		case *storepb.SnapshotRecord_FlavorProfile:
			st.FlavorProfiles.Put(e.FlavorProfile)
		case *storepb.SnapshotRecord_AvailabilityZone:
			st.AvailabilityZones.Put(e.AvailabilityZone)
		case *storepb.SnapshotRecord_AvailabilityZoneProfile:
			st.AvailabilityZoneProfiles.Put(e.AvailabilityZoneProfile)
		case *storepb.SnapshotRecord_AmphoraSecrets:
			st.AmphoraSecrets = e.AmphoraSecrets
		case *storepb.SnapshotRecord_ListenerStatistics:
			st.ListenerStatistics.Put(internStatistics(e.ListenerStatistics))
		case *storepb.SnapshotRecord_Host:
			st.blazar.putHost(e.Host)
		case *storepb.SnapshotRecord_ResourceProperty:
			st.blazar.properties.Put(e.ResourceProperty)
		case *storepb.SnapshotRecord_Lease:
			st.blazar.putLease(e.Lease)
		case *storepb.SnapshotRecord_Allocation:
			st.blazar.putAllocation(e.Allocation)
		case *storepb.SnapshotRecord_InstanceType:
			st.mogan.types.Put(e.InstanceType)
		case *storepb.SnapshotRecord_Instance:
			st.mogan.putInstance(e.Instance)
		case *storepb.SnapshotRecord_AppliedRequest:
			requests = append(requests, e.AppliedRequest)
		default:
			return nil, nil, nil, fmt.Errorf("store: unknown snapshot record %T", rec.Entity)
		}
	}
	return st, hdr, requests, nil
}

// restoreChild puts a record of a tree's child kind into st; false if the record
// is of another kind.
func restoreChild(st *State, rec *storepb.SnapshotRecord) bool {
	for _, k := range childKinds {
		if k.restore(st, rec) {
			return true
		}
	}
	return false
}
