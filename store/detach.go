package store

import (
	"bytes"
	"reflect"
	"strings"
	"unsafe"
)

// A restore decodes rows in place: UnmarshalVTUnsafe points each string and
// bytes field into the batch buffer instead of allocating it. Interning
// (intern.go) then replaces most of those strings (statuses, projects,
// subnets, the parent's id) with canonical copies, and detach copies whatever
// still points into the buffer out of it, before the buffer is reused. With
// the ordinary decoder every interned field was allocated and dropped at once:
// at 1M load balancers with an amphora each, ~13M strings of garbage that a
// restore (the collector paused) touched as fresh memory.

// aliasPlan lists where a row type's strings, bytes and nested messages are,
// found once per type by reflection over the generated struct.
type aliasPlan struct {
	strings       []uintptr // string fields
	stringPtrs    []uintptr // *string fields (optional strings)
	stringSlices  []uintptr // []string fields
	bytes         []uintptr // []byte fields
	messages      []nestedAlias
	messageSlices []nestedAlias
}

// nestedAlias is a *M ([]*M in messageSlices) field and M's plan.
type nestedAlias struct {
	offset uintptr
	plan   *aliasPlan
}

// planAliases returns the plan for struct type t, or false when t has a field
// detach cannot follow (a map, a oneof's interface): such a type is decoded
// with the ordinary, allocating decoder. Unexported fields (the protobuf
// runtime's state, cached size, unknown fields, which the decoder copies)
// never point into the input.
func planAliases(t reflect.Type) (*aliasPlan, bool) {
	if t.Kind() != reflect.Struct {
		return nil, false
	}
	p := &aliasPlan{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		switch ft := f.Type; ft.Kind() {
		case reflect.Bool, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		case reflect.String:
			p.strings = append(p.strings, f.Offset)
		case reflect.Slice:
			switch el := ft.Elem(); {
			case el.Kind() == reflect.String:
				p.stringSlices = append(p.stringSlices, f.Offset)
			case el.Kind() == reflect.Uint8:
				p.bytes = append(p.bytes, f.Offset)
			case el.Kind() == reflect.Pointer:
				sub, ok := planAliases(el.Elem())
				if !ok {
					return nil, false
				}
				p.messageSlices = append(p.messageSlices, nestedAlias{f.Offset, sub})
			case el.Kind() == reflect.Bool || el.Kind() == reflect.Int32 || el.Kind() == reflect.Int64 ||
				el.Kind() == reflect.Uint32 || el.Kind() == reflect.Uint64:
			default:
				return nil, false
			}
		case reflect.Pointer:
			switch ft.Elem().Kind() {
			case reflect.Struct:
				sub, ok := planAliases(ft.Elem())
				if !ok {
					return nil, false
				}
				p.messages = append(p.messages, nestedAlias{f.Offset, sub})
			case reflect.String: // an optional string
				p.stringPtrs = append(p.stringPtrs, f.Offset)
			case reflect.Bool, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
				// an optional scalar
			default:
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return p, true
}

// detach copies every string and byte slice of the struct at v that points
// into [lo, hi) out of it.
func (p *aliasPlan) detach(v unsafe.Pointer, lo, hi uintptr) {
	for _, off := range p.strings {
		detachString((*string)(unsafe.Add(v, off)), lo, hi)
	}
	for _, off := range p.stringPtrs {
		if sp := *(**string)(unsafe.Add(v, off)); sp != nil {
			detachString(sp, lo, hi)
		}
	}
	for _, off := range p.stringSlices {
		for i := range *(*[]string)(unsafe.Add(v, off)) {
			detachString(&(*(*[]string)(unsafe.Add(v, off)))[i], lo, hi)
		}
	}
	for _, off := range p.bytes {
		b := (*[]byte)(unsafe.Add(v, off))
		if len(*b) > 0 && within(uintptr(unsafe.Pointer(unsafe.SliceData(*b))), lo, hi) {
			*b = bytes.Clone(*b)
		}
	}
	for _, m := range p.messages {
		if sub := *(*unsafe.Pointer)(unsafe.Add(v, m.offset)); sub != nil {
			m.plan.detach(sub, lo, hi)
		}
	}
	for _, m := range p.messageSlices {
		for _, sub := range *(*[]unsafe.Pointer)(unsafe.Add(v, m.offset)) {
			if sub != nil {
				m.plan.detach(sub, lo, hi)
			}
		}
	}
}

func detachString(s *string, lo, hi uintptr) {
	if len(*s) > 0 && within(uintptr(unsafe.Pointer(unsafe.StringData(*s))), lo, hi) {
		*s = strings.Clone(*s)
	}
}

func within(p, lo, hi uintptr) bool { return p >= lo && p < hi }

// bufferBounds is the address range of b's bytes.
func bufferBounds(b []byte) (lo, hi uintptr) {
	lo = uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return lo, lo + uintptr(len(b))
}
