package baremetal

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// Patchable is the part of an instance a PATCH may change (B.4): name,
// description and extra. ApplyPatch works on its JSON form,
// {"name": …, "description": … or null, "extra": {…}}.
type Patchable struct {
	Name        string
	Description *string // nil: null
	Extra       map[string]string
}

// InternalAttributes are the first path segments a patch may not touch, in
// Mogan's order. Mogan lists image_uuid without its slash, so /image_uuid is
// patchable there; keel refuses it (Mogan's later fix), and adds
// /target_power_state, keel's field.
var InternalAttributes = []string{
	"/created_at", "/id", "/links", "/updated_at", "/uuid", "/project_id",
	"/user_id", "/status", "/power_state", "/availability_zone",
	"/instance_type_uuid", "/network_info", "/launched_at", "/image_uuid",
	"/target_power_state",
}

// patchPathRE is PatchPathPattern with Python 3's Unicode \w.
var patchPathRE = regexp.MustCompile(`^(/[\p{L}\p{N}_-]+)+$`)

// patchOp is one operation as sent; Value is nil when the key is absent.
type patchOp struct {
	Op, Path string
	Value    json.RawMessage
}

// ApplyPatch applies an RFC 6902 body to view the way Mogan does (B.4) and
// returns the new view. In Mogan's order: each operation is checked (path
// pattern, op ∈ add/replace/remove, internal attribute, /name not removable,
// a value for add and replace); then no add may create a top-level member;
// then the operations are applied in turn (a missing member fails the patch
// with python-jsonpatch's reason); then the result is re-checked with the
// create schema's rules (name a string of 1–255, description one or null,
// extra as on create). A removed description is null, a removed extra {}.
func ApplyPatch(view Patchable, body []byte) (Patchable, *Error) {
	ops, perr := decodePatch(body)
	if perr != nil {
		return Patchable{}, perr
	}
	for _, op := range ops {
		if !patchPathRE.MatchString(op.Path) {
			return Patchable{}, ErrPatchPath(op.Path)
		}
		if op.Op != "add" && op.Op != "replace" && op.Op != "remove" {
			return Patchable{}, ErrPatchOp(op.Op)
		}
		first := "/" + strings.SplitN(op.Path, "/", 3)[1]
		if contains(InternalAttributes, first) {
			return Patchable{}, ErrInternalAttribute(op.Path)
		}
		if op.Path == "/name" && op.Op == "remove" {
			return Patchable{}, ErrMandatoryAttribute(op.Path)
		}
		if op.Op != "remove" && op.Value == nil {
			return Patchable{}, ErrPatchNeedsValue()
		}
	}
	doc := map[string]any{"name": view.Name, "description": nil, "extra": map[string]any{}}
	if view.Description != nil {
		doc["description"] = *view.Description
	}
	for k, v := range view.Extra {
		doc["extra"].(map[string]any)[k] = v
	}
	for _, op := range ops {
		if op.Op == "add" && strings.Count(op.Path, "/") == 1 {
			if _, ok := doc[op.Path[1:]]; !ok {
				return Patchable{}, ErrAddRootAttribute(op.Path)
			}
		}
	}
	raw, _ := json.Marshal(doc)
	for _, op := range ops {
		if reason := missingMember(raw, op); reason != "" {
			return Patchable{}, ErrPatchFailed(patchRepr(ops), reason)
		}
		one, _ := json.Marshal([]map[string]any{opJSON(op)})
		p, err := jsonpatch.DecodePatch(one)
		if err == nil {
			raw, err = p.Apply(raw)
		}
		if err != nil {
			return Patchable{}, ErrPatchFailed(patchRepr(ops), err.Error())
		}
	}
	return patchedView(raw)
}

// decodePatch reads the body as a list of operations.
func decodePatch(body []byte) ([]patchOp, *Error) {
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, ErrPatchBody()
	}
	ops := make([]patchOp, 0, len(list))
	for _, m := range list {
		if m == nil {
			return nil, ErrPatchBody()
		}
		var op patchOp
		if json.Unmarshal(m["op"], &op.Op) != nil || json.Unmarshal(m["path"], &op.Path) != nil {
			return nil, ErrPatchBody()
		}
		if v, ok := m["value"]; ok {
			op.Value = v
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func opJSON(op patchOp) map[string]any {
	m := map[string]any{"op": op.Op, "path": op.Path}
	if op.Value != nil {
		m["value"] = op.Value
	}
	return m
}

// missingMember is python-jsonpatch's reason when a remove or replace names a
// member the document does not have ("can't remove a non-existent object
// 'k'"), "" otherwise.
func missingMember(raw []byte, op patchOp) string {
	if op.Op == "add" {
		return ""
	}
	var doc map[string]any
	_ = json.Unmarshal(raw, &doc)
	parts := strings.Split(op.Path[1:], "/")
	var cur any = doc
	for i, part := range parts {
		obj, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		next, ok := obj[part]
		if !ok {
			if i < len(parts)-1 {
				return "member " + pyStr(part) + " not found in " + pyRepr(obj)
			}
			return "can't " + op.Op + " a non-existent object " + pyStr(part)
		}
		cur = next
	}
	return ""
}

// patchRepr is the patch as PatchError shows it: Python's repr of the list of
// {'path', 'op'[, 'value']} dicts.
func patchRepr(ops []patchOp) string {
	parts := make([]string, len(ops))
	for i, op := range ops {
		s := "{'path': " + pyStr(op.Path) + ", 'op': " + pyStr(op.Op)
		if op.Value != nil {
			s += ", 'value': " + pyRepr(decodeAny(op.Value))
		}
		parts[i] = s + "}"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func decodeAny(raw []byte) any {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&v)
	return v
}

// patchedView re-checks the patched document.
func patchedView(raw []byte) (Patchable, *Error) {
	doc, _ := decodeAny(raw).(map[string]any)
	var out Patchable
	var msg string
	if out.Name, msg = text(doc["name"]); msg != "" {
		return Patchable{}, ErrPatchedInvalid("name", shown(doc["name"]), msg)
	}
	if d, ok := doc["description"]; ok && d != nil {
		s, msg := text(d)
		if msg != "" {
			return Patchable{}, ErrPatchedInvalid("description", shown(d), msg)
		}
		out.Description = &s
	}
	out.Extra = map[string]string{}
	if e, ok := doc["extra"]; ok && e != nil {
		if out.Extra, msg = extra(e); msg != "" {
			return Patchable{}, ErrPatchedInvalid("extra", shown(e), msg)
		}
	}
	return out, nil
}

// shown is a value as WSME's InvalidInput interpolates it (str()).
func shown(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}
