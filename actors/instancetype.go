package actors

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"keel/actors/baremetal"
	"keel/actors/instancepb"
	"keel/store"
	"keel/store/storepb"
)

// InstanceTypeGrain writes one instance type (kind "InstanceType", identity =
// the type's uuid): admin only. Mogan's seed era has no schema for types; keel
// takes {"name" (required on create, 1–255), "description" (string or null),
// "is_public" (bool, default true), "extra_specs" (object of strings)}, any
// other key refused. An update changes only the keys it sends (extra_specs
// replaced whole). A type an instance names is not deleted (409). The
// extraspecs sub-resource writes extra_specs alone: SET_EXTRA_SPECS merges an
// object of strings into them (Mogan's TypeExtraSpecController.patch),
// UNSET_EXTRA_SPEC removes one key (404 when the type has no such key). The
// extra specs are what the scheduler matches against the hosts (Candidates).
type InstanceTypeGrain struct {
	id string
	rt *Runtime
}

var _ instancepb.InstanceType = (*InstanceTypeGrain)(nil)

// Init binds the grain to its type and node.
func (g *InstanceTypeGrain) Init(ctx cluster.GrainContext) {
	g.id = ctx.Identity()
	g.rt = runtimeOf(ctx.ActorSystem())
}

// Terminate has nothing to release.
func (g *InstanceTypeGrain) Terminate(ctx cluster.GrainContext) {}

// ReceiveDefault ignores messages that are not calls.
func (g *InstanceTypeGrain) ReceiveDefault(ctx cluster.GrainContext) {}

// Instance type policy rules (keel's names, after Mogan's later
// mogan:flavor:*; admin only).
const (
	RuleInstanceTypeCreate = "mogan:instance_type:create"
	RuleInstanceTypeUpdate = "mogan:instance_type:update"
	RuleInstanceTypeDelete = "mogan:instance_type:delete"
	// The extraspecs sub-resource (admin only).
	RuleInstanceTypeSetExtraSpecs  = "mogan:instance_type:extra_specs:update"
	RuleInstanceTypeUnsetExtraSpec = "mogan:instance_type:extra_specs:delete"
)

var typeRules = map[instancepb.TypeWriteRequest_Op]string{
	instancepb.TypeWriteRequest_CREATE: RuleInstanceTypeCreate,
	instancepb.TypeWriteRequest_UPDATE: RuleInstanceTypeUpdate,
	instancepb.TypeWriteRequest_DELETE: RuleInstanceTypeDelete,

	instancepb.TypeWriteRequest_SET_EXTRA_SPECS:  RuleInstanceTypeSetExtraSpecs,
	instancepb.TypeWriteRequest_UNSET_EXTRA_SPEC: RuleInstanceTypeUnsetExtraSpec,
}

// typeBody is a parsed body: nil fields were not sent.
type typeBody struct {
	Name        *string
	Description *string
	DescNull    bool
	IsPublic    *bool
	ExtraSpecs  map[string]string
	SpecsSent   bool
}

func invalidType(detail string) error {
	return grainError(KindInvalid, "Invalid instance type body: %s", detail)
}

// parseTypeBody reads a create or update body.
func parseTypeBody(b []byte, create bool) (typeBody, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		return typeBody{}, invalidType("the request body is not a JSON object")
	}
	var out typeBody
	for k, raw := range obj {
		switch k {
		case "name":
			var s string
			if json.Unmarshal(raw, &s) != nil || s == "" || utf8.RuneCountInString(s) > 255 {
				return typeBody{}, invalidType("'name' must be a string of 1 to 255 characters")
			}
			out.Name = &s
		case "description":
			if string(bytes.TrimSpace(raw)) == "null" {
				out.DescNull = true
				continue
			}
			var s string
			if json.Unmarshal(raw, &s) != nil || utf8.RuneCountInString(s) > 255 {
				return typeBody{}, invalidType("'description' must be a string of at most 255 characters or null")
			}
			out.Description = &s
		case "is_public":
			var v bool
			if json.Unmarshal(raw, &v) != nil {
				return typeBody{}, invalidType("'is_public' must be a boolean")
			}
			out.IsPublic = &v
		case "extra_specs":
			var m map[string]string
			if json.Unmarshal(raw, &m) != nil {
				return typeBody{}, invalidType("'extra_specs' must be an object of strings")
			}
			if m == nil {
				m = map[string]string{}
			}
			out.ExtraSpecs, out.SpecsSent = m, true
		default:
			return typeBody{}, invalidType("unknown attribute '" + k + "'")
		}
	}
	if create && out.Name == nil {
		return typeBody{}, invalidType("'name' is a required property")
	}
	return out, nil
}

// parseExtraSpecs reads PATCH …/extraspecs's body: an object of strings,
// each key 1–255 characters, each value at most 255.
func parseExtraSpecs(b []byte) (map[string]string, error) {
	var m map[string]string
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return nil, grainError(KindInvalid, "Invalid extra specs body: the request body is not a JSON object of strings")
	}
	for k, v := range m {
		if k == "" || utf8.RuneCountInString(k) > 255 || utf8.RuneCountInString(v) > 255 {
			return nil, grainError(KindInvalid, "Invalid extra specs body: keys must be 1 to 255 characters, values at most 255")
		}
	}
	return m, nil
}

func typeNotFound(id string) error {
	return grainError(KindNotFound, "InstanceType %s could not be found", id)
}

// Write makes one change: CREATE, UPDATE or DELETE; it answers with the type
// as stored (nothing after a delete).
func (g *InstanceTypeGrain) Write(req *instancepb.TypeWriteRequest, ctx cluster.GrainContext) (*instancepb.TypeWriteReply, error) {
	caller := req.GetCaller()
	rule, ok := typeRules[req.GetOp()]
	if !ok {
		return nil, grainError(KindInvalid, "instance type write %v", req.GetOp())
	}
	if !caller.GetAdmin() {
		return nil, moganError(baremetal.ErrPolicy(rule))
	}
	var body typeBody
	switch req.GetOp() {
	case instancepb.TypeWriteRequest_CREATE, instancepb.TypeWriteRequest_UPDATE:
		var err error
		if body, err = parseTypeBody(req.GetBody(), req.GetOp() == instancepb.TypeWriteRequest_CREATE); err != nil {
			return nil, err
		}
	case instancepb.TypeWriteRequest_SET_EXTRA_SPECS:
		specs, err := parseExtraSpecs(req.GetBody())
		if err != nil {
			return nil, err
		}
		body.ExtraSpecs = specs
	case instancepb.TypeWriteRequest_UNSET_EXTRA_SPEC:
		if req.GetKey() == "" {
			return nil, grainError(KindInvalid, "instance type write without the extra spec's key")
		}
	}
	var wrote *storepb.InstanceType
	res, err := g.rt.proposeDecided(caller, blazarAttempts, func(st *store.State) (*storepb.Command, error) {
		wrote = nil
		cur := st.InstanceType(g.id)
		now := g.rt.Now().UnixMicro()
		switch req.GetOp() {
		case instancepb.TypeWriteRequest_CREATE:
			if cur != nil {
				return nil, grainError(KindConflict, "InstanceType %s already exists", g.id)
			}
			t := &storepb.InstanceType{Uuid: g.id, Name: *body.Name, IsPublic: true, ExtraSpecs: map[string]string{},
				CreatedAtUs: now, UpdatedAtUs: now}
			applyTypeBody(t, body)
			wrote = t
			return typeCommand(&storepb.InstanceTypeOperation{Op: storepb.InstanceTypeOperation_PUT, Uuid: g.id, Type: t}), nil
		case instancepb.TypeWriteRequest_UPDATE:
			if cur == nil {
				return nil, typeNotFound(g.id)
			}
			t := proto.Clone(cur).(*storepb.InstanceType)
			applyTypeBody(t, body)
			t.UpdatedAtUs = now
			wrote = t
			return typeCommand(&storepb.InstanceTypeOperation{Op: storepb.InstanceTypeOperation_PUT, Uuid: g.id,
				ExpectedVersion: cur.Version, Type: t}), nil
		case instancepb.TypeWriteRequest_SET_EXTRA_SPECS, instancepb.TypeWriteRequest_UNSET_EXTRA_SPEC:
			if cur == nil {
				return nil, typeNotFound(g.id)
			}
			t := proto.Clone(cur).(*storepb.InstanceType)
			if t.ExtraSpecs == nil {
				t.ExtraSpecs = map[string]string{}
			}
			if req.GetOp() == instancepb.TypeWriteRequest_SET_EXTRA_SPECS {
				maps.Copy(t.ExtraSpecs, body.ExtraSpecs)
			} else {
				if _, ok := t.ExtraSpecs[req.GetKey()]; !ok {
					return nil, grainError(KindNotFound, "InstanceType %s has no extra specs with key %s", g.id, req.GetKey())
				}
				delete(t.ExtraSpecs, req.GetKey())
			}
			t.UpdatedAtUs = now
			wrote = t
			return typeCommand(&storepb.InstanceTypeOperation{Op: storepb.InstanceTypeOperation_PUT, Uuid: g.id,
				ExpectedVersion: cur.Version, Type: t}), nil
		default:
			if cur == nil {
				return nil, typeNotFound(g.id)
			}
			if st.InstanceTypeInUse(g.id) {
				return nil, grainError(KindConflict, "InstanceType %s is in use by an instance and cannot be deleted", g.id)
			}
			return typeCommand(&storepb.InstanceTypeOperation{Op: storepb.InstanceTypeOperation_DELETE, Uuid: g.id,
				ExpectedVersion: cur.Version}), nil
		}
	}, lostRace)
	if err != nil {
		if _, err = settleRefusal(g.rt, caller, err); err != nil {
			return nil, err
		}
	}
	if req.GetOp() == instancepb.TypeWriteRequest_DELETE {
		return &instancepb.TypeWriteReply{}, nil
	}
	if err == nil && res != nil && !res.Replayed && wrote != nil {
		wrote.Version = res.Version
		return &instancepb.TypeWriteReply{Type: wrote}, nil
	}
	st, err := g.rt.read()
	if err != nil {
		return nil, unavailable(err)
	}
	t := st.InstanceType(g.id)
	if t == nil {
		return nil, typeNotFound(g.id)
	}
	return &instancepb.TypeWriteReply{Type: t}, nil
}

func applyTypeBody(t *storepb.InstanceType, b typeBody) {
	if b.Name != nil {
		t.Name = *b.Name
	}
	if b.DescNull {
		t.Description = ""
	}
	if b.Description != nil {
		t.Description = *b.Description
	}
	if b.IsPublic != nil {
		t.IsPublic = *b.IsPublic
	}
	if b.SpecsSent {
		t.ExtraSpecs = b.ExtraSpecs
	}
}

func typeCommand(op *storepb.InstanceTypeOperation) *storepb.Command {
	return &storepb.Command{Op: &storepb.Command_InstanceTypeOperation{InstanceTypeOperation: op}}
}

// InstanceMethod is a method of the instance grain's generated client, as a
// method expression: (*instancepb.InstanceGrainClient).Create.
type InstanceMethod[Req, Resp any] func(*instancepb.InstanceGrainClient, Req, ...cluster.GrainCallOption) (Resp, error)

// CallInstance calls one method of instance id's grain with keel's
// per-attempt deadline and retries (a request carries its request id, so a
// retry is answered, not applied twice). A refusal is an *Error whose Kind is
// the HTTP status class and whose Message is Mogan's text.
func CallInstance[Req, Resp any](ctx context.Context, c *Client, id string, method InstanceMethod[Req, Resp], req Req) (Resp, error) {
	g := instancepb.GetInstanceGrainClient(c.cluster, id)
	return call(ctx, c, instanceGrains, func(attempt uint32, opts ...cluster.GrainCallOption) (Resp, error) {
		return method(g, numbered(req, attempt), opts...)
	})
}

// CallInstanceType makes one write to instance type id's grain and returns
// its reply (the type as stored; empty after a delete).
func CallInstanceType(ctx context.Context, c *Client, id string, req *instancepb.TypeWriteRequest) (*instancepb.TypeWriteReply, error) {
	g := instancepb.GetInstanceTypeGrainClient(c.cluster, id)
	return call(ctx, c, instanceTypeGrains, func(attempt uint32, opts ...cluster.GrainCallOption) (*instancepb.TypeWriteReply, error) {
		return g.Write(numbered(req, attempt), opts...)
	})
}
