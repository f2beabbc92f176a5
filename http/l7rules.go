package http

import (
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"
	"google.golang.org/protobuf/proto"

	"keel/actors/actorspb"
	"keel/actors/octaviarules"
	"keel/store"
	"keel/store/storepb"
)

type l7rule = *storepb.L7Rule

// l7Rules is the rule resource under /l7policies/{id}/rules (root keys "rule",
// "rules", "rules_links").
var l7Rules = newResource[l7rule]("L7 Rule", "rule", "rules",
	func(s *store.State) *store.Table[l7rule] { return s.L7Rules }, []*attr[l7rule]{
		{name: "id", kind: kindString, str: l7rule.GetId, index: store.IndexID},
		{name: "type", kind: kindString, str: l7rule.GetType},
		{name: "compare_type", kind: kindString, str: l7rule.GetCompareType},
		{name: "key", kind: kindNullableString, str: l7rule.GetKey},
		{name: "value", kind: kindString, str: l7rule.GetValue},
		{name: "invert", kind: kindBool, boolean: l7rule.GetInvert},
		{name: "provisioning_status", kind: kindString, str: l7rule.GetProvisioningStatus},
		{name: "operating_status", kind: kindString, str: l7rule.GetOperatingStatus},
		{name: "created_at", kind: kindTimestamp, integer: l7rule.GetCreatedAt},
		{name: "updated_at", kind: kindTimestamp, integer: l7rule.GetUpdatedAt},
		{name: "project_id", kind: kindString, str: l7rule.GetProjectId},
		{name: "admin_state_up", kind: kindBool, boolean: l7rule.GetAdminStateUp},
		{name: "tags", kind: kindTags, list: l7rule.GetTags},
		{name: "tenant_id", kind: kindComputed, render: tenantOf[l7rule]()},
		{name: "l7policy_id", kind: kindString, str: l7rule.GetL7PolicyId, index: store.IndexL7Policy, hidden: true},
	})

// readRuleAttrs decodes a rule's attributes into v. lineChecked applies the key
// and value pattern (the rule API's types have it; the rules nested in a policy
// body are checked for it when Octavia builds them).
func readRuleAttrs(f *fieldReader, v *storepb.L7Rule, lineChecked bool) {
	v.Type, _ = f.enum("type", octaviarules.L7RuleTypes...)
	v.CompareType, _ = f.enum("compare_type", octaviarules.L7RuleCompareTypes...)
	for _, a := range []struct {
		name string
		dst  *string
	}{{"key", &v.Key}, {"value", &v.Value}} {
		s, set := f.str(a.name, 255)
		if set && lineChecked && !octaviarules.SingleLine(s) {
			f.fail(badRequest("Invalid input for field/attribute %s. Value: '%s'. %s", a.name, s, patternReason(octaviarules.SingleLinePattern)))
		}
		*a.dst = s
	}
	if inv, set := f.boolean("invert"); set {
		v.Invert = inv
	}
	if up, set := f.boolean("admin_state_up"); set {
		v.AdminStateUp = up
	} else if f.has("admin_state_up") && isNull(f.fields["admin_state_up"]) {
		f.fail(badRequest("Invalid input for field/attribute admin_state_up. Value: 'None'. Value should be boolean"))
	}
	v.Tags, _ = f.strList("tags", 255)
}

// decodeL7RuleCreate validates a POST body and applies Octavia's defaults.
func decodeL7RuleCreate(body []byte) (*storepb.L7Rule, error) {
	f, err := decodeRoot(body, "rule_", "rule")
	if err != nil {
		return nil, err
	}
	v := &storepb.L7Rule{AdminStateUp: true}
	f.required("type")
	f.required("compare_type")
	f.required("value")
	readRuleAttrs(f, v, true)
	// The rule belongs to its load balancer's project: project_id and tenant_id are
	// accepted (and checked) but, as in Octavia, not used.
	f.str("project_id", 36)
	f.str("tenant_id", 36)
	if err := f.finish(); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeL7RuleUpdate validates a PUT body: the attributes it sets and their names.
// (Octavia's PUT argument is named l7rule_, its POST argument rule_.)
func decodeL7RuleUpdate(body []byte) (*storepb.L7Rule, []string, error) {
	f, err := decodeRoot(body, "l7rule_", "rule")
	if err != nil {
		return nil, nil, err
	}
	v := &storepb.L7Rule{}
	readRuleAttrs(f, v, true)
	if err := f.finish(); err != nil {
		return nil, nil, err
	}
	return v, f.mask(), nil
}

// policyInPath reads the L7 policy a rules path names, after a barrier: a missing
// one is pecan's 404 ("L7Policy <id> not found."), one whose project the policy's
// rule does not allow the caller on a 403.
func (s *Server) policyInPath(ctx *fasthttp.RequestCtx, rule string) (*storepb.L7Policy, error) {
	if err := s.barrier(); err != nil {
		return nil, err
	}
	return policyIn(ctx, s.store.State().Current(), pathParam(ctx, "id"), rule)
}

func policyIn(ctx *fasthttp.RequestCtx, st *store.State, id, rule string) (*storepb.L7Policy, error) {
	p, found := st.L7Policies.Get(id)
	if !found {
		return nil, missingParent("L7Policy %s not found.", id)
	}
	if err := authorize(ctx, rule, p.ProjectId); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Server) listL7Rules(ctx *fasthttp.RequestCtx) error {
	id := pathParam(ctx, "id")
	byPolicy := narrowBy(store.IndexL7Policy, id, l7rule.GetL7PolicyId)
	return serveList(s, ctx, l7Rules, func(st *store.State, q *store.Query[l7rule]) error {
		if _, err := policyIn(ctx, st, id, rbacL7Rule+actGetAll); err != nil {
			return err
		}
		return byPolicy(st, q)
	})
}

func (s *Server) showL7Rule(ctx *fasthttp.RequestCtx) error {
	policy, err := s.policyInPath(ctx, rbacL7Rule+actGetOne)
	if err != nil {
		return err
	}
	return serveShow(s, ctx, l7Rules, pathParam(ctx, "rule_id"), func(r l7rule) bool { return r.L7PolicyId == policy.Id })
}

func (s *Server) createL7Rule(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	policyID := pathParam(ctx, "id")
	var v *storepb.L7Rule
	reply, err := writeTree(s, func(st *store.State) (string, error) {
		policy, err := policyIn(ctx, st, policyID, rbacL7Rule+actPost)
		if err != nil {
			return "", err
		}
		if v, err = decodeL7RuleCreate(ctx.PostBody()); err != nil {
			return "", err
		}
		return policy.LoadbalancerId, octaviarules.CheckL7Rule(v)
	}, (*actorspb.LoadBalancerGrainClient).CreateL7Rule, func() *actorspb.CreateL7RuleRequest {
		v.Id, v.L7PolicyId = uuid.NewString(), policyID
		return &actorspb.CreateL7RuleRequest{Caller: caller, Rule: v}
	})
	if err != nil {
		return err
	}
	l7Rules.writeOne(ctx, fasthttp.StatusCreated, reply.Rule, treeState(reply.Tree))
	return nil
}

// updateL7Rule checks the rule as the update would leave it, as Octavia does, on
// the rule as this node has it: the grain checks the rule it writes again, and a
// refusal is only answered from a fresh read (routeThenCall).
func (s *Server) updateL7Rule(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	policyID, id := pathParam(ctx, "id"), pathParam(ctx, "rule_id")
	var values *storepb.L7Rule
	var fields []string
	reply, err := writeTree(s, func(st *store.State) (string, error) {
		policy, err := policyIn(ctx, st, policyID, rbacL7Rule+actPut)
		if err != nil {
			return "", err
		}
		if values, fields, err = decodeL7RuleUpdate(ctx.PostBody()); err != nil {
			return "", err
		}
		cur, found := st.L7Rules.Get(id)
		if !found || cur.L7PolicyId != policyID {
			return "", notFound("L7 Rule %s not found.", id)
		}
		merged := proto.Clone(cur).(*storepb.L7Rule)
		applyMask(merged, values, fields)
		return policy.LoadbalancerId, octaviarules.CheckL7Rule(merged)
	}, (*actorspb.LoadBalancerGrainClient).UpdateL7Rule, func() *actorspb.UpdateL7RuleRequest {
		values.Id, values.L7PolicyId = id, policyID
		return &actorspb.UpdateL7RuleRequest{Caller: caller, Values: values, Fields: fields}
	})
	if err != nil {
		return err
	}
	l7Rules.writeOne(ctx, fasthttp.StatusOK, reply.Rule, treeState(reply.Tree))
	return nil
}

// deleteL7Rule routes by the policy in the path; the grain looks the rule up
// (404 "L7 Rule <id> not found." when it is not the policy's).
func (s *Server) deleteL7Rule(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	policyID, id := pathParam(ctx, "id"), pathParam(ctx, "rule_id")
	_, err := writeTree(s, func(st *store.State) (string, error) {
		policy, err := policyIn(ctx, st, policyID, rbacL7Rule+actDelete)
		return policy.GetLoadbalancerId(), err
	}, (*actorspb.LoadBalancerGrainClient).DeleteL7Rule, func() *actorspb.DeleteChildRequest {
		return &actorspb.DeleteChildRequest{Caller: caller, Id: policyID + "/" + id}
	})
	if err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
