package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

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
	stats       *snapshotStats // where Persist reports its figures (nil: nowhere)
}

// Persist streams the captured tables to the sink; it runs concurrently with Apply,
// which is safe because a published State is immutable.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	start := time.Now()
	cw := &countingWriter{w: sink}
	records, err := s.writeCounted(cw)
	if err != nil {
		_ = sink.Cancel()
		return err
	}
	if err := sink.Close(); err != nil {
		return err
	}
	metrics.ObserveSnapshot(time.Since(start), cw.n)
	if s.stats != nil {
		s.stats.persisted(s.applied, records, cw.n, time.Since(start))
	}
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
	_, err := s.writeCounted(w)
	return err
}

func (s *fsmSnapshot) writeCounted(w io.Writer) (uint64, error) {
	rw := &recordWriter{bw: bufio.NewWriterSize(w, 1<<20)}
	hdr := &storepb.SnapshotHeader{AppliedIndex: s.applied, LastVersion: s.lastVersion, Format: snapshotFormat, ClockUnixMs: s.clock}
	if _, err := protodelim.MarshalTo(rw.bw, hdr); err != nil {
		return 0, err
	}
	st := s.state
	writeTable(rw, st.LoadBalancers)
	for _, k := range childKinds {
		k.snapshot(st, rw)
	}
	if st.AmphoraSecrets != nil {
		rw.put(st.AmphoraSecrets)
	}
	writeTable(rw, st.Quotas)
	writeTable(rw, st.Flavors)
	writeTable(rw, st.FlavorProfiles)
	writeTable(rw, st.AvailabilityZones)
	writeTable(rw, st.AvailabilityZoneProfiles)
	writeTable(rw, st.ListenerStatistics)
	if rw.err == nil {
		st.blazar.snapshot(rw.emit)
	}
	if rw.err == nil {
		st.mogan.snapshot(rw.emit)
	}
	for _, r := range s.requests {
		if !rw.put(r) {
			break
		}
	}
	if rw.err != nil {
		return 0, rw.err
	}
	end := &storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_EndCount{EndCount: rw.count}}
	if _, err := protodelim.MarshalTo(rw.bw, end); err != nil {
		return 0, err
	}
	return rw.count, rw.bw.Flush()
}

// recordWriter writes SnapshotRecords straight from the rows: the bytes
// protodelim would write for a SnapshotRecord wrapping the row (its length,
// the oneof field's tag, the row's length, the row), without a wrapper per row
// and with the row's size computed once, into the buffered writer's own
// buffer.
type recordWriter struct {
	bw    *bufio.Writer
	count uint64
	err   error
}

var marshalCached = proto.MarshalOptions{UseCachedSize: true}

// put writes one row as its record; false once writing failed.
func (w *recordWriter) put(m proto.Message) bool {
	if w.err != nil {
		return false
	}
	var b []byte
	if b, w.err = appendRecord(w.bw.AvailableBuffer(), m); w.err != nil {
		return false
	}
	if _, w.err = w.bw.Write(b); w.err != nil {
		return false
	}
	w.count++
	return true
}

// appendRecord appends m's record to b.
func appendRecord(b []byte, m proto.Message) ([]byte, error) {
	field, ok := recordFields[m.ProtoReflect().Descriptor().FullName()]
	if !ok {
		return b, fmt.Errorf("store: no snapshot record for %T", m)
	}
	vt, fast := m.(vtMarshaler)
	var size int
	if fast {
		size = vt.SizeVT()
	} else {
		size = proto.Size(m) // caches the sizes MarshalAppend then uses
	}
	inner := protowire.SizeTag(field) + protowire.SizeBytes(size)
	b = protowire.AppendVarint(b, uint64(inner))
	b = protowire.AppendTag(b, field, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	if !fast {
		return marshalCached.MarshalAppend(b, m)
	}
	b = slices.Grow(b, size)
	n := len(b)
	if _, err := vt.MarshalToSizedBufferVT(b[n : n+size]); err != nil {
		return b, err
	}
	return b[:n+size], nil
}

// vtMarshaler is a storepb message's generated marshaling code
// (protoc-gen-go-vtproto): the same bytes as proto.Marshal, without reflection.
type vtMarshaler interface {
	SizeVT() int
	MarshalToSizedBufferVT([]byte) (int, error)
}

// vtUnmarshaler is a storepb message's generated unmarshaling code
// (protoc-gen-go-vtproto). It does not check that strings are UTF-8: it decodes
// only what keel itself encoded (snapshots, Raft entries).
type vtUnmarshaler interface {
	UnmarshalVT([]byte) error
}

// unmarshalRow decodes data into m, by its generated code when it has some.
func unmarshalRow(data []byte, m proto.Message) error {
	if vt, ok := m.(vtUnmarshaler); ok {
		return vt.UnmarshalVT(data)
	}
	return proto.Unmarshal(data, m)
}

// emit writes a record built by its caller (Blazar's and Mogan's tables).
func (w *recordWriter) emit(rec *storepb.SnapshotRecord) bool {
	if w.err != nil {
		return false
	}
	r := rec.ProtoReflect()
	fd := r.WhichOneof(recordOneof)
	if fd == nil || fd.Message() == nil {
		w.err = fmt.Errorf("store: snapshot record without a row: %v", rec)
		return false
	}
	return w.put(r.Get(fd).Message().Interface())
}

// writeTable writes every row of t, in id order. A large table is encoded by
// marshalWorkers goroutines, chunk by chunk, while this one writes the chunks
// in order (at most chunksAhead encoded ahead of it): encoding is most of a
// snapshot's CPU, and the rows are immutable.
func writeTable[T Entity](w *recordWriter, t *Table[T]) {
	if w.err != nil {
		return
	}
	if t.Len() < 4*chunkRows {
		t.All(func(x T) bool { return w.put(any(x).(proto.Message)) })
		return
	}
	type chunk struct {
		rows []T
		out  chan []byte // the encoded chunk; nil if encoding failed
	}
	done := make(chan struct{})
	defer close(done)
	work := make(chan *chunk, chunksAhead)
	order := make(chan *chunk, chunksAhead)
	// Encoded chunks' buffers are reused: at 1M load balancers fresh ones
	// were half a gigabyte of garbage, well within the heap goal, so the
	// resident set kept it after the snapshot.
	free := make(chan []byte, chunksAhead+marshalWorkers+1)
	var errMu sync.Mutex
	var encErr error
	go func() { // walks the table
		defer close(work)
		defer close(order)
		c := &chunk{rows: make([]T, 0, chunkRows), out: make(chan []byte, 1)}
		send := func() bool {
			select {
			case order <- c:
			case <-done:
				return false
			}
			select {
			case work <- c:
			case <-done:
				return false
			}
			c = &chunk{rows: make([]T, 0, chunkRows), out: make(chan []byte, 1)}
			return true
		}
		okay := true
		t.All(func(x T) bool {
			c.rows = append(c.rows, x)
			if len(c.rows) == chunkRows {
				okay = send()
			}
			return okay
		})
		if okay && len(c.rows) > 0 {
			send()
		}
	}()
	for i := 0; i < marshalWorkers; i++ {
		go func() {
			for c := range work {
				var b []byte
				select {
				case b = <-free:
				default:
					b = make([]byte, 0, 256*chunkRows)
				}
				var err error
				for _, x := range c.rows {
					if b, err = appendRecord(b, any(x).(proto.Message)); err != nil {
						errMu.Lock()
						encErr = err
						errMu.Unlock()
						b = nil
						break
					}
				}
				c.out <- b
			}
		}()
	}
	for c := range order {
		b := <-c.out
		if b == nil {
			errMu.Lock()
			w.err = encErr
			errMu.Unlock()
			return
		}
		if _, w.err = w.bw.Write(b); w.err != nil {
			return
		}
		select {
		case free <- b[:0]:
		default:
		}
		w.count += uint64(len(c.rows))
	}
}

const (
	chunkRows      = 2048
	chunksAhead    = 8
	marshalWorkers = 2
)

// recordOneof is SnapshotRecord's oneof; recordFields maps each row message
// to its field in it.
var (
	recordOneof  = (&storepb.SnapshotRecord{}).ProtoReflect().Descriptor().Oneofs().ByName("entity")
	recordFields = func() map[protoreflect.FullName]protowire.Number {
		m := map[protoreflect.FullName]protowire.Number{}
		fields := recordOneof.Fields()
		for i := 0; i < fields.Len(); i++ {
			if f := fields.Get(i); f.Message() != nil {
				m[f.Message().FullName()] = f.Number()
			}
		}
		return m
	}()
)

func (s *fsmSnapshot) Release() {}

// readSnapshot builds fresh tables (and the remembered requests) from a snapshot
// stream. Rows of the load balancers' table and of the child kinds' (nearly
// every record) are decoded straight from the record's bytes into their row,
// with no wrapper, and collected; once the stream is read and checked, each
// table's indexes are built at once and concurrently (Table.load). Other
// records go through SnapshotRecord.
func readSnapshot(r io.Reader) (*State, *storepb.SnapshotHeader, []*storepb.AppliedRequest, uint64, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	hdr := &storepb.SnapshotHeader{}
	if err := (protodelim.UnmarshalOptions{MaxSize: maxRecord}).UnmarshalFrom(br, hdr); err != nil {
		return nil, nil, nil, 0, fmt.Errorf("store: snapshot header: %w", err)
	}
	if hdr.Format != snapshotFormat {
		return nil, nil, nil, 0, fmt.Errorf("store: snapshot format %d, want %d", hdr.Format, snapshotFormat)
	}
	st := newState()
	lbs := newTableLoader(st.LoadBalancers, internLoadBalancer)
	loaders := map[protowire.Number]rowLoader{lbs.field(): lbs}
	parents := &loadBalancerParents{lbs: lbs}
	for _, k := range childKinds {
		l := k.loader(st, parents.of)
		loaders[l.field()] = l
	}
	var requests []*storepb.AppliedRequest
	var count uint64
	var buf []byte
	dec := newBatchDecoder()
	defer dec.stop()
	lbsDone := false // every load balancer row decoded and in lbs.rows
	for {
		size, err := binary.ReadUvarint(br)
		if errors.Is(err, io.EOF) {
			return nil, nil, nil, 0, errors.New("store: snapshot truncated (no end record)")
		}
		if err == nil && size > maxRecord {
			err = fmt.Errorf("record of %d bytes", size)
		}
		if err == nil {
			if uint64(cap(buf)) < size {
				buf = make([]byte, size, max(size, 4096))
			}
			buf = buf[:size]
			_, err = io.ReadFull(br, buf)
		}
		if err != nil {
			return nil, nil, nil, 0, fmt.Errorf("store: snapshot record: %w", err)
		}
		if num, typ, n := protowire.ConsumeTag(buf); n > 0 && typ == protowire.BytesType && loaders[num] != nil {
			row, m := protowire.ConsumeBytes(buf[n:])
			if m < 0 || n+m != len(buf) {
				return nil, nil, nil, 0, errors.New("store: snapshot record: malformed")
			}
			l := loaders[num]
			if l != rowLoader(lbs) && !lbsDone {
				// Child rows take their load balancer's Id string (loadBalancerParents):
				// the load balancers, written first, must all be in lbs.rows.
				if err := dec.wait(); err != nil {
					return nil, nil, nil, 0, err
				}
				parents.index()
				lbsDone = true
			}
			dec.add(l, row)
			count++
			continue
		}
		rec := &storepb.SnapshotRecord{}
		if err := rec.UnmarshalVT(buf); err != nil {
			return nil, nil, nil, 0, fmt.Errorf("store: snapshot record: %w", err)
		}
		if end, isEnd := rec.Entity.(*storepb.SnapshotRecord_EndCount); isEnd {
			if err := dec.wait(); err != nil {
				return nil, nil, nil, 0, err
			}
			if end.EndCount != count {
				return nil, nil, nil, 0, fmt.Errorf("store: snapshot has %d records, end says %d", count, end.EndCount)
			}
			break
		}
		count++
		switch e := rec.Entity.(type) {
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
			return nil, nil, nil, 0, fmt.Errorf("store: unknown snapshot record %T", rec.Entity)
		}
	}
	var wg sync.WaitGroup
	for _, l := range loaders {
		l.load(&wg)
	}
	wg.Wait()
	for _, l := range loaders {
		if err := l.loaded(); err != nil {
			return nil, nil, nil, 0, err
		}
	}
	return st, hdr, requests, count, nil
}

// batchDecoder decodes rows on decodeWorkers goroutines, in batches of up to
// batchRows rows of one table, while the reader frames records; it hands
// decoded batches to their loaders in stream order (so rows keep the
// snapshot's order: the load balancers', in id order, are searched by
// loadBalancerParents). At most decodeAhead batches are read and not yet decoded.
type batchDecoder struct {
	work    chan *rowBatch
	slots   chan struct{}
	free    chan []byte // batch buffers to reuse: the collector is off during a restore
	cur     *rowBatch
	pending []*rowBatch
	stopped bool
}

type rowBatch struct {
	loader rowLoader
	data   []byte
	ends   []int
	rows   any
	err    error
	done   chan struct{}
}

const (
	batchRows      = 1024
	decodeAhead    = 16
	decodeWorkers  = 2
	batchDataBytes = 256 << 10
)

func newBatchDecoder() *batchDecoder {
	d := &batchDecoder{work: make(chan *rowBatch, decodeAhead), slots: make(chan struct{}, decodeAhead),
		free: make(chan []byte, decodeAhead+1)}
	for i := 0; i < decodeWorkers; i++ {
		go func() {
			for b := range d.work {
				b.rows, b.err = b.loader.decode(b.data, b.ends)
				select {
				case d.free <- b.data[:0]:
				default:
				}
				b.data, b.ends = nil, nil
				close(b.done)
				<-d.slots
			}
		}()
	}
	return d
}

// add queues one row's bytes (copied) for l.
func (d *batchDecoder) add(l rowLoader, row []byte) {
	if d.cur != nil && (d.cur.loader != l || len(d.cur.ends) == batchRows) {
		d.flush()
	}
	if d.cur == nil {
		var data []byte
		select {
		case data = <-d.free:
		default:
			data = make([]byte, 0, batchDataBytes)
		}
		d.cur = &rowBatch{loader: l, data: data, ends: make([]int, 0, batchRows), done: make(chan struct{})}
	}
	d.cur.data = append(d.cur.data, row...)
	d.cur.ends = append(d.cur.ends, len(d.cur.data))
}

func (d *batchDecoder) flush() {
	if d.cur == nil {
		return
	}
	d.slots <- struct{}{}
	d.work <- d.cur
	d.pending = append(d.pending, d.cur)
	d.cur = nil
}

// wait decodes everything queued and adds it to the loaders, in order.
func (d *batchDecoder) wait() error {
	d.flush()
	for _, b := range d.pending {
		<-b.done
		if b.err != nil {
			return fmt.Errorf("store: snapshot record: %w", b.err)
		}
		b.loader.add(b.rows)
		b.rows = nil
	}
	d.pending = d.pending[:0]
	return nil
}

// stop ends the workers (after the batches queued are decoded).
func (d *batchDecoder) stop() {
	if !d.stopped {
		d.stopped = true
		close(d.work)
	}
}

// maxRecord bounds one record (a row is far smaller; a corrupt length must not
// allocate gigabytes).
const maxRecord = 64 << 20

// rowLoader collects one table's rows from a snapshot, then loads them.
type rowLoader interface {
	// field is the table's field in SnapshotRecord.
	field() protowire.Number
	// decode decodes rows laid back to back in data (row i ends at ends[i])
	// into a []T; add appends such a slice to the loader's rows. decode may
	// run on any goroutine, add only on the reader's.
	decode(data []byte, ends []int) (any, error)
	add(rows any)
	// load starts building the table from the rows (Table.load) in wg.
	load(wg *sync.WaitGroup)
	// loaded reports whether the table holds every row, once wg is done.
	loaded() error
}

type tableLoader[T Entity] struct {
	table  *Table[T]
	typ    protoreflect.MessageType
	intern func(T) T
	plan   *aliasPlan // nil: T is decoded with the allocating decoder (detach.go)
	rows   []T
}

// vtUnsafeUnmarshaler is the generated decoder whose strings and bytes point
// into its input (protoc-gen-go-vtproto's unmarshal_unsafe).
type vtUnsafeUnmarshaler interface {
	UnmarshalVTUnsafe([]byte) error
}

func newTableLoader[T Entity](t *Table[T], intern func(T) T) *tableLoader[T] {
	var zero T
	l := &tableLoader[T]{table: t, typ: any(zero).(proto.Message).ProtoReflect().Type(), intern: intern}
	if _, ok := any(zero).(vtUnsafeUnmarshaler); ok {
		if plan, ok := planAliases(reflect.TypeFor[T]().Elem()); ok {
			l.plan = plan
		}
	}
	return l
}

func (l *tableLoader[T]) field() protowire.Number { return recordFields[l.typ.Descriptor().FullName()] }

func (l *tableLoader[T]) decode(data []byte, ends []int) (any, error) {
	rows := make([]T, len(ends))
	lo, hi := bufferBounds(data)
	start := 0
	for i, end := range ends {
		m := l.typ.New().Interface()
		if l.plan == nil {
			if err := unmarshalRow(data[start:end], m); err != nil {
				return nil, err
			}
			rows[i] = l.intern(m.(T))
		} else {
			if err := m.(vtUnsafeUnmarshaler).UnmarshalVTUnsafe(data[start:end]); err != nil {
				return nil, err
			}
			rows[i] = l.intern(m.(T))
			l.plan.detach(rowOf(rows[i]), lo, hi)
		}
		start = end
	}
	return rows, nil
}

func (l *tableLoader[T]) add(rows any) { l.rows = append(l.rows, rows.([]T)...) }

// loadBalancerParents finds a child row's load balancer among the load
// balancers of a snapshot, which are written first and in id order
// (Table.All): once they are all read (index), a child's lookup is a binary
// search of their id keys, laid out in one array. Searching the rows
// themselves read a row and its id string, scattered over the heap, at each
// of ~20 steps: at 1M load balancers with an amphora each, the search was a
// third of a restore's CPU.
type loadBalancerParents struct {
	lbs  *tableLoader[*storepb.LoadBalancer]
	keys []idItem // of lbs.rows, in their order
}

// index records the id keys of every load balancer read; the reader calls it
// before it hands out the first child row.
func (p *loadBalancerParents) index() {
	p.keys = make([]idItem, len(p.lbs.rows))
	for i, lb := range p.lbs.rows {
		p.keys[i] = makeIDItem(lb)
	}
}

// of returns the strings of the load balancer with id, or the id itself if
// the snapshot holds none. Decode workers call it concurrently; it only reads.
func (p *loadBalancerParents) of(id string) parent {
	key := idKey(id)
	i := sort.Search(len(p.keys), func(i int) bool { return !lessIDItem(p.keys[i], key) })
	if i < len(p.keys) && p.keys[i].id == id {
		return parentOf(entity[*storepb.LoadBalancer](p.keys[i].v))
	}
	return parent{id: id}
}

func (l *tableLoader[T]) load(wg *sync.WaitGroup) { l.table.load(l.rows, wg) }

func (l *tableLoader[T]) loaded() error {
	if l.table.Len() != len(l.rows) {
		return fmt.Errorf("store: snapshot holds %d %s rows, %d distinct ids", len(l.rows), l.table.Name(), l.table.Len())
	}
	return nil
}

func (l *tableLoader[T]) messageType() protoreflect.MessageType { return l.typ }
func (l *tableLoader[T]) aliasPlan() *aliasPlan                 { return l.plan }
