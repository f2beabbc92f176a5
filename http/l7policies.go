package http

import (
	"math"
	"strconv"

	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors/actorspb"
	"keel/actors/octaviarules"
	"keel/store"
	"keel/store/storepb"
)

type l7policy = *storepb.L7Policy

var l7Policies = newResource[l7policy]("L7 Policy", "l7policy", "l7policies",
	func(s *store.State) *store.Table[l7policy] { return s.L7Policies }, []*attr[l7policy]{
		{name: "id", kind: kindString, str: l7policy.GetId, index: store.IndexID},
		{name: "name", kind: kindString, str: l7policy.GetName, index: store.IndexName},
		{name: "description", kind: kindString, str: l7policy.GetDescription},
		{name: "provisioning_status", kind: kindString, str: l7policy.GetProvisioningStatus},
		{name: "operating_status", kind: kindString, str: l7policy.GetOperatingStatus},
		{name: "admin_state_up", kind: kindBool, boolean: l7policy.GetAdminStateUp},
		{name: "project_id", kind: kindString, str: l7policy.GetProjectId},
		{name: "action", kind: kindString, str: l7policy.GetAction},
		{name: "listener_id", kind: kindString, str: l7policy.GetListenerId, index: store.IndexListener},
		{name: "redirect_pool_id", kind: kindNullableString, str: l7policy.GetRedirectPoolId, index: store.IndexRedirectPool},
		{name: "redirect_url", kind: kindNullableString, str: l7policy.GetRedirectUrl},
		{name: "redirect_prefix", kind: kindNullableString, str: l7policy.GetRedirectPrefix},
		{name: "position", kind: kindInt, integer: i32(l7policy.GetPosition)},
		{name: "rules", kind: kindComputed, render: func(b []byte, v l7policy, st *store.State) []byte {
			return appendIDList(b, ids(st.RulesOfPolicy(v.Id)))
		}},
		{name: "created_at", kind: kindTimestamp, integer: l7policy.GetCreatedAt},
		{name: "updated_at", kind: kindTimestamp, integer: l7policy.GetUpdatedAt},
		{name: "tags", kind: kindTags, list: l7policy.GetTags},
		{name: "redirect_http_code", kind: kindComputed, render: nullWhenZero(i32(l7policy.GetRedirectHttpCode))},
		// The same attribute again, hidden, so lists filter and sort on it (a later
		// attribute of a name is the one filters and sorting use).
		{name: "redirect_http_code", kind: kindInt, integer: i32(l7policy.GetRedirectHttpCode), hidden: true},
		{name: "tenant_id", kind: kindComputed, render: tenantOf[l7policy]()},
	})

// nullWhenZero renders an integer, or null when it is 0 (unset).
func nullWhenZero[T any](get func(T) int64) func([]byte, T, *store.State) []byte {
	return func(b []byte, v T, _ *store.State) []byte {
		if n := get(v); n != 0 {
			return strconv.AppendInt(b, n, 10)
		}
		return append(b, "null"...)
	}
}

// l7Routes registers L7 policies and their rules.
func (s *Server) l7Routes(r *router.Router, prefix string) {
	r.GET(prefix+"/l7policies", s.wrap(func(ctx *fasthttp.RequestCtx) error { return serveList(s, ctx, l7Policies, nil) }))
	r.POST(prefix+"/l7policies", s.wrap(s.createL7Policy))
	r.GET(prefix+"/l7policies/{id}", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		return serveShow(s, ctx, l7Policies, pathParam(ctx, "id"), nil)
	}))
	r.PUT(prefix+"/l7policies/{id}", s.wrap(s.updateL7Policy))
	r.DELETE(prefix+"/l7policies/{id}", s.wrap(s.deleteL7Policy))
	r.GET(prefix+"/l7policies/{id}/rules", s.wrap(s.listL7Rules))
	r.POST(prefix+"/l7policies/{id}/rules", s.wrap(s.createL7Rule))
	r.GET(prefix+"/l7policies/{id}/rules/{rule_id}", s.wrap(s.showL7Rule))
	r.PUT(prefix+"/l7policies/{id}/rules/{rule_id}", s.wrap(s.updateL7Rule))
	r.DELETE(prefix+"/l7policies/{id}/rules/{rule_id}", s.wrap(s.deleteL7Rule))
}

// Octavia's L7 policy vocabulary.
var l7PolicyActions = []string{"REJECT", "REDIRECT_TO_URL", "REDIRECT_TO_POOL", "REDIRECT_PREFIX"}

const (
	maxPolicyPosition   = math.MaxInt32
	redirectCodesListed = "301, 302, 303, 307, 308" // as WSME lists its Enum(int) set
)

var redirectCodes = map[int64]bool{301: true, 302: true, 303: true, 307: true, 308: true}

// policyBody is a decoded policy body: the values, and which attributes the body
// named (null included), as Octavia's sanitize_l7policy_api_args sees them.
type policyBody struct {
	values *storepb.L7Policy
	named  map[string]bool
}

// readPolicyAttrs decodes the attributes POST and PUT share.
func readPolicyAttrs(f *fieldReader, b *policyBody) {
	v := b.values
	v.Name, _ = f.str("name", 255)
	v.Description, _ = f.str("description", 255)
	if up, set := f.boolean("admin_state_up"); set {
		v.AdminStateUp = up
	} else if f.has("admin_state_up") && isNull(f.fields["admin_state_up"]) {
		f.fail(badRequest("Invalid input for field/attribute admin_state_up. Value: 'None'. Value should be boolean"))
	}
	v.Action, _ = f.enum("action", l7PolicyActions...)
	v.RedirectPoolId, _ = f.uuidStr("redirect_pool_id")
	v.RedirectUrl, _ = readURL(f, "redirect_url")
	v.RedirectPrefix, _ = readURL(f, "redirect_prefix")
	if n, set, null := f.integer("position", 1, maxPolicyPosition); set && !null {
		v.Position = int32(n)
	}
	v.Tags, _ = f.strList("tags", 255)
	if n, set, null := f.integer("redirect_http_code", math.MinInt64, math.MaxInt64); set && !null {
		if !redirectCodes[n] {
			f.fail(badRequest("Invalid input for field/attribute redirect_http_code. Value: '%d'. Value should be one of: %s", n, redirectCodesListed))
		}
		v.RedirectHttpCode = int32(n)
	}
	for _, name := range f.mask() {
		b.named[name] = true
	}
	// A null position leaves the policy where it is.
	if raw, ok := f.fields["position"]; ok && isNull(raw) {
		delete(b.named, "position")
	}
}

// readURL decodes a redirect URL (Octavia's URLType).
func readURL(f *fieldReader, name string) (string, bool) {
	raw := f.fields[name]
	v, set := f.str(name, 0)
	if set && v != "" && !octaviarules.RedirectURLValid(v) {
		f.fail(invalidInput(name, raw, "Value must be a valid URL string"))
		return "", false
	}
	return v, set
}

// sanitize applies Octavia's sanitize_l7policy_api_args: an action needs its
// argument, and a redirect argument implies its action and clears the others (a
// URL or prefix without a code gets 302). It returns the attributes the change
// sets, for an update's field mask.
func (b *policyBody) sanitize(create bool) ([]string, error) {
	v, named := b.values, b.named
	clear := func(names ...string) {
		for _, n := range names {
			named[n] = true
			switch n {
			case "redirect_url":
				v.RedirectUrl = ""
			case "redirect_pool_id":
				v.RedirectPoolId = ""
			case "redirect_prefix":
				v.RedirectPrefix = ""
			case "redirect_http_code":
				v.RedirectHttpCode = 0
			}
		}
	}
	if named["action"] || create {
		switch v.Action {
		case "":
			return nil, badRequest("Invalid L7 Policy action specified: None")
		case "REJECT":
			clear("redirect_url", "redirect_pool_id")
		case "REDIRECT_TO_URL":
			if v.RedirectUrl == "" {
				return nil, badRequest("Invalid L7 Policy arguments: redirect_url must not be None")
			}
			clear("redirect_pool_id")
		case "REDIRECT_TO_POOL":
			if v.RedirectPoolId == "" {
				return nil, badRequest("Invalid L7 Policy arguments: redirect_pool_id or redirect_pool must not be None")
			}
			clear("redirect_url")
		case "REDIRECT_PREFIX":
			if v.RedirectPrefix == "" {
				return nil, badRequest("Invalid L7 Policy arguments: redirect_prefix must not be None")
			}
		}
	}
	if v.RedirectPoolId != "" && (v.RedirectUrl != "" || v.RedirectPrefix != "") {
		return nil, badRequest("Invalid L7 Policy arguments: Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time")
	}
	setAction := func(a string) { v.Action, named["action"] = a, true }
	switch {
	case v.RedirectPoolId != "":
		setAction("REDIRECT_TO_POOL")
		clear("redirect_url", "redirect_prefix", "redirect_http_code")
	case v.RedirectUrl != "":
		setAction("REDIRECT_TO_URL")
		clear("redirect_pool_id", "redirect_prefix")
	case v.RedirectPrefix != "":
		setAction("REDIRECT_PREFIX")
		clear("redirect_pool_id", "redirect_url")
	}
	if (v.RedirectUrl != "" || v.RedirectPrefix != "") && v.RedirectHttpCode == 0 {
		v.RedirectHttpCode, named["redirect_http_code"] = 302, true
	}
	if len(named) == 0 {
		return nil, badRequest("Invalid L7 Policy arguments: Invalid update options")
	}
	fields := make([]string, 0, len(named))
	for _, n := range []string{"name", "description", "admin_state_up", "action", "redirect_pool_id", "redirect_url",
		"redirect_prefix", "redirect_http_code", "position", "tags"} {
		if named[n] {
			fields = append(fields, n)
		}
	}
	return fields, nil
}

// readL7PolicyCreate reads a policy's own POST attributes (not its listener) with
// Octavia's defaults, and its nested rules; checkL7PolicyCreate finishes the job.
func readL7PolicyCreate(f *fieldReader) (*policyBody, []*storepb.L7Rule, error) {
	b := &policyBody{values: &storepb.L7Policy{AdminStateUp: true, Position: maxPolicyPosition}, named: map[string]bool{}}
	f.required("action")
	readPolicyAttrs(f, b)
	// The policy belongs to its load balancer's project: project_id and tenant_id are
	// accepted (and checked) but, as in Octavia, not used.
	f.str("project_id", 36)
	f.str("tenant_id", 36)
	var rules []*storepb.L7Rule
	if items, ok := f.objectList("rules"); ok {
		for _, rf := range items {
			rule := &storepb.L7Rule{AdminStateUp: true}
			rf.required("type")
			rf.required("compare_type")
			rf.required("value")
			readRuleAttrs(rf, rule, false)
			if err := rf.finish(); err != nil {
				return nil, nil, err
			}
			rules = append(rules, rule)
		}
	}
	return b, rules, nil
}

// checkL7PolicyCreate sanitizes the policy's arguments as Octavia does and checks
// its nested rules.
func checkL7PolicyCreate(b *policyBody, rules []*storepb.L7Rule) error {
	if _, err := b.sanitize(true); err != nil {
		return err
	}
	for _, rule := range rules {
		// Octavia builds each nested rule as a rule API object, whose key and value
		// refuse line breaks, then checks it.
		for _, a := range []struct{ name, value string }{{"key", rule.Key}, {"value", rule.Value}} {
			if !octaviarules.SingleLine(a.value) {
				return badRequest("Error parsing L7Rule: Invalid input for field/attribute %s. Value: '%s'. %s",
					a.name, a.value, patternReason(octaviarules.SingleLinePattern))
			}
		}
		if err := octaviarules.CheckL7Rule(rule); err != nil {
			return err
		}
	}
	return nil
}

// decodeL7PolicyCreate validates a POST body: the policy with Octavia's defaults,
// and the rules to create with it.
func decodeL7PolicyCreate(body []byte) (*storepb.L7Policy, []*storepb.L7Rule, error) {
	f, err := decodeRoot(body, "l7policy_", "l7policy")
	if err != nil {
		return nil, nil, err
	}
	f.required("listener_id")
	listenerID, _ := f.uuidStr("listener_id")
	b, rules, err := readL7PolicyCreate(f)
	if err != nil {
		return nil, nil, err
	}
	b.values.ListenerId = listenerID
	if err := f.finish(); err != nil {
		return nil, nil, err
	}
	if err := checkL7PolicyCreate(b, rules); err != nil {
		return nil, nil, err
	}
	return b.values, rules, nil
}

// decodeL7PolicyUpdate validates a PUT body: the mutable attributes, sanitized.
func decodeL7PolicyUpdate(body []byte) (*storepb.L7Policy, []string, error) {
	f, err := decodeRoot(body, "l7policy_", "l7policy")
	if err != nil {
		return nil, nil, err
	}
	b := &policyBody{values: &storepb.L7Policy{}, named: map[string]bool{}}
	readPolicyAttrs(f, b)
	if err := f.finish(); err != nil {
		return nil, nil, err
	}
	fields, err := b.sanitize(false)
	if err != nil {
		return nil, nil, err
	}
	return b.values, fields, nil
}

func (s *Server) createL7Policy(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	v, rules, err := decodeL7PolicyCreate(ctx.PostBody())
	if err != nil {
		return err
	}
	reply, err := writeTree(s, func(st *store.State) (string, error) {
		l, err := childIn(ctx, st, listeners, v.ListenerId, rbacL7Policy+actPost)
		return l.GetLoadbalancerId(), err
	}, (*actorspb.LoadBalancerGrainClient).CreateL7Policy, func() *actorspb.CreateL7PolicyRequest {
		v.Id = uuid.NewString() // the grain refuses more than 50 rules, naming it
		for _, rule := range rules {
			rule.Id = uuid.NewString()
		}
		return &actorspb.CreateL7PolicyRequest{Caller: caller, L7Policy: v, Rules: rules}
	})
	if err != nil {
		return err
	}
	l7Policies.writeOne(ctx, fasthttp.StatusCreated, reply.L7Policy, treeState(reply.Tree))
	return nil
}

func (s *Server) updateL7Policy(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	values, fields, err := decodeL7PolicyUpdate(ctx.PostBody())
	if err != nil {
		return err
	}
	id := pathParam(ctx, "id")
	reply, err := writeTree(s, func(st *store.State) (string, error) {
		p, err := childIn(ctx, st, l7Policies, id, rbacL7Policy+actPut)
		return p.GetLoadbalancerId(), err
	}, (*actorspb.LoadBalancerGrainClient).UpdateL7Policy, func() *actorspb.UpdateL7PolicyRequest {
		values.Id = id
		return &actorspb.UpdateL7PolicyRequest{Caller: caller, Values: values, Fields: fields}
	})
	if err != nil {
		return err
	}
	l7Policies.writeOne(ctx, fasthttp.StatusOK, reply.L7Policy, treeState(reply.Tree))
	return nil
}

func (s *Server) deleteL7Policy(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	id := pathParam(ctx, "id")
	_, err := writeTree(s, func(st *store.State) (string, error) {
		p, err := childIn(ctx, st, l7Policies, id, rbacL7Policy+actDelete)
		return p.GetLoadbalancerId(), err
	}, (*actorspb.LoadBalancerGrainClient).DeleteL7Policy, func() *actorspb.DeleteChildRequest {
		return &actorspb.DeleteChildRequest{Caller: caller, Id: id}
	})
	if err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
