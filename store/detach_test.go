package store

import (
	"fmt"
	"reflect"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// populate sets every field of m (two entries in each list, one in each map,
// nested messages filled the same way), each string and bytes value distinct.
func populate(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if o := fd.ContainingOneof(); o != nil && !o.IsSynthetic() && m.WhichOneof(o) != nil {
			continue
		}
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for j := 0; j < 2; j++ {
				if fd.Message() != nil {
					e := l.NewElement()
					if depth < 3 {
						populate(e.Message(), depth+1)
					}
					l.Append(e)
				} else {
					l.Append(scalar(fd, j))
				}
			}
		case fd.IsMap():
			m.Mutable(fd).Map().Set(scalar(fd.MapKey(), 0).MapKey(), scalar(fd.MapValue(), 1))
		case fd.Message() != nil:
			if depth < 3 {
				populate(m.Mutable(fd).Message(), depth+1)
			}
		default:
			m.Set(fd, scalar(fd, 0))
		}
	}
}

func scalar(fd protoreflect.FieldDescriptor, n int) protoreflect.Value {
	text := fmt.Sprintf("%s-%s-%d", fd.ContainingMessage().Name(), fd.Name(), n)
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(text)
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(text))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(fd.Enum().Values().Get(fd.Enum().Values().Len() - 1).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(7 + n))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(1_000_000_007 + n))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(9 + n))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(11 + n))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(1.5)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(2.5)
	}
	panic(fmt.Sprintf("no test value for %v", fd.Kind()))
}

// A restore decodes rows with their strings pointing into a batch buffer that
// it reuses for the next batch (detach.go): every row of every table loaded
// from a snapshot must hold nothing of that buffer once decoded. Each row type
// is filled in every field, decoded as a restore does, and compared with the
// original after the buffer has been overwritten.
func TestRestoreDecodeKeepsNothingOfTheBuffer(t *testing.T) {
	type typed interface {
		rowLoader
		messageType() protoreflect.MessageType
		aliasPlan() *aliasPlan
	}
	st := newState()
	loaders := []typed{newTableLoader(st.LoadBalancers, internLoadBalancer)}
	for _, k := range childKinds {
		// a parent the snapshot lacks: the child keeps its own id string
		loaders = append(loaders, k.loader(st, func(id string) parent { return parent{id: id} }).(typed))
	}
	fast := map[protoreflect.FullName]bool{}
	for _, l := range loaders {
		typ := l.messageType()
		name := typ.Descriptor().FullName()
		fast[name] = l.aliasPlan() != nil
		want := typ.New()
		populate(want, 0)
		encoded, err := proto.Marshal(want.Interface())
		if err != nil {
			t.Fatal(err)
		}
		buf := append([]byte(nil), encoded...)
		rows, err := l.decode(buf, []int{len(buf)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range buf {
			buf[i] = 0xAA
		}
		got := reflect.ValueOf(rows).Index(0).Interface().(proto.Message)
		if !proto.Equal(got, want.Interface()) {
			t.Errorf("%s changed with the buffer it was decoded from:\n got %v\nwant %v", name, got, want.Interface())
		}
	}
	// The tables that hold a row per load balancer, and those a load balancer
	// may hold many rows of, must take the fast path; a field detach cannot
	// follow (a map, a oneof) would turn it off silently.
	for _, name := range []protoreflect.FullName{"keel.store.LoadBalancer", "keel.store.Amphora", "keel.store.Pool", "keel.store.Member"} {
		if !fast[name] {
			t.Errorf("%s is decoded with the allocating decoder (decoded in place: %v)", name, fast)
		}
	}
}

// detach follows every shape a generated row may have, including those no row
// type has today (an optional string).
func TestDetachCopiesOutEveryShape(t *testing.T) {
	type inner struct {
		S string
		B []byte
	}
	type outer struct {
		S      string
		Opt    *string
		OptInt *int32
		List   []string
		Bytes  []byte
		One    *inner
		Many   []*inner
		N      int64
	}
	plan, ok := planAliases(reflect.TypeFor[outer]())
	if !ok {
		t.Fatal("no plan for a struct of supported fields")
	}
	buf := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	str := func(i, j int) string { return unsafe.String(&buf[i], j-i) }
	opt, n := str(2, 4), int32(7)
	kept := "not in the buffer"
	v := &outer{S: str(0, 2), Opt: &opt, OptInt: &n, List: []string{str(4, 6), kept}, Bytes: buf[6:8],
		One: &inner{S: str(8, 10), B: buf[10:12]}, Many: []*inner{{S: str(12, 14)}, nil}, N: 3}
	lo, hi := bufferBounds(buf)
	plan.detach(unsafe.Pointer(v), lo, hi)
	for i := range buf {
		buf[i] = '#'
	}
	if v.S != "01" || *v.Opt != "23" || *v.OptInt != 7 || v.List[0] != "45" || v.List[1] != kept ||
		string(v.Bytes) != "67" || v.One.S != "89" || string(v.One.B) != "ab" || v.Many[0].S != "cd" || v.N != 3 {
		t.Fatalf("after the buffer changed: %+v %q %+v %+v", v, *v.Opt, *v.One, *v.Many[0])
	}
	if unsafe.StringData(v.List[1]) != unsafe.StringData(kept) {
		t.Error("a string outside the buffer was copied")
	}
	type withMap struct{ M map[string]string }
	if _, ok := planAliases(reflect.TypeFor[withMap]()); ok {
		t.Error("a plan for a map field, which detach cannot follow")
	}
}
