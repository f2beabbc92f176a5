package actors

import (
	"sort"

	"github.com/asynkron/protoactor-go/cluster"

	"keel/actors/actorspb"
	"keel/actors/octaviarules"
	"keel/store/storepb"
)

// L7 policies are ordered per listener by position, kept contiguous (1..N):
// inserting at a position shifts the later ones, deleting closes the gap.

// placePolicy puts policy x at its requested position among the listener's live
// policies (0 or past the end: last) and renumbers them all in the write set.
func placePolicy(t *tree, w *storepb.TreeWrite, x *storepb.L7Policy) {
	var others []*storepb.L7Policy
	for _, p := range t.PoliciesOfListener(x.ListenerId) {
		if p.Id != x.Id && p.ProvisioningStatus != StatusPendingDelete {
			others = append(others, p)
		}
	}
	pos := int(x.Position)
	if pos <= 0 || pos > len(others)+1 {
		pos = len(others) + 1
	}
	ordered := append([]*storepb.L7Policy{}, others[:pos-1]...)
	ordered = append(ordered, x)
	ordered = append(ordered, others[pos-1:]...)
	renumber(t, w, ordered)
}

func renumber(t *tree, w *storepb.TreeWrite, ordered []*storepb.L7Policy) {
	for i, p := range ordered {
		want := int32(i + 1)
		if p.Position == want {
			continue
		}
		if _, cached := t.policies[p.Id]; cached {
			p = writablePolicy(t, w, p.Id)
		}
		p.Position = want
	}
}

// normalizePolicy applies what the action implies: the redirect attributes of
// other actions are cleared, the HTTP code defaults to 302 for URL and prefix
// redirects, and the action's own argument must be there.
func normalizePolicy(p *storepb.L7Policy) error {
	switch p.Action {
	case "REDIRECT_TO_URL":
		p.RedirectPoolId, p.RedirectPrefix = "", ""
		if p.RedirectUrl == "" {
			return grainError(KindInvalid, "Invalid L7 Policy arguments: redirect_url must not be None")
		}
	case "REDIRECT_PREFIX":
		p.RedirectPoolId, p.RedirectUrl = "", ""
		if p.RedirectPrefix == "" {
			return grainError(KindInvalid, "Invalid L7 Policy arguments: redirect_prefix must not be None")
		}
	case "REDIRECT_TO_POOL":
		p.RedirectUrl, p.RedirectPrefix, p.RedirectHttpCode = "", "", 0
		if p.RedirectPoolId == "" {
			return grainError(KindInvalid, "Invalid L7 Policy arguments: redirect_pool_id or redirect_pool must not be None")
		}
	case "REJECT":
		p.RedirectPoolId, p.RedirectUrl, p.RedirectPrefix, p.RedirectHttpCode = "", "", "", 0
	}
	if (p.Action == "REDIRECT_TO_URL" || p.Action == "REDIRECT_PREFIX") && p.RedirectHttpCode == 0 {
		p.RedirectHttpCode = 302
	}
	return nil
}

// CreateL7Policy adds an L7 policy (with any rules given) to a listener.
func (g *LoadBalancerGrain) CreateL7Policy(req *actorspb.CreateL7PolicyRequest, ctx cluster.GrainContext) (*actorspb.L7PolicyReply, error) {
	p := req.GetL7Policy()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		x := cloneRow(p)
		if err := normalizePolicy(x); err != nil {
			return nil, err
		}
		if err := checkPolicyTarget(t, x); err != nil {
			return nil, err
		}
		if len(req.GetRules()) > octaviarules.MaxRulesPerPolicy {
			return nil, grainError(KindConflict, "Too many rules on L7 policy %s", x.Id)
		}
		for _, r := range req.GetRules() {
			if err := invalid(octaviarules.CheckL7Rule(r)); err != nil {
				return nil, err
			}
		}
		w, err := g.childWrite(t)
		if err != nil {
			return nil, err
		}
		now := w.LoadBalancer.UpdatedAt
		x.LoadbalancerId, x.ProjectId = g.id, t.lb.ProjectId
		x.ProvisioningStatus, x.OperatingStatus = StatusPendingCreate, OperatingOffline
		x.CreatedAt, x.UpdatedAt = now, 0
		w.L7Policies = append(w.L7Policies, x)
		placePolicy(t, w, x)
		for i, r := range req.GetRules() {
			rx := cloneRow(r)
			rx.L7PolicyId, rx.ListenerId, rx.LoadbalancerId, rx.ProjectId = x.Id, x.ListenerId, g.id, t.lb.ProjectId
			rx.ProvisioningStatus, rx.OperatingStatus = StatusPendingCreate, OperatingOffline
			rx.CreatedAt, rx.UpdatedAt = now+int64(i)+1, 0
			w.L7Rules = append(w.L7Rules, rx)
		}
		lockListeners(t, w, t.listeners[x.ListenerId])
		return &decision{write: w, intent: storepb.TreeTransaction_CREATE_L7POLICY}, nil
	})
	if err != nil {
		return nil, err
	}
	row, err := writtenRow(g, func(t *tree) map[string]*storepb.L7Policy { return t.policies }, p.Id)
	if err != nil {
		return nil, err
	}
	return &actorspb.L7PolicyReply{L7Policy: row, Tree: g.replyTree()}, nil
}

// UpdateL7Policy changes an L7 policy (moving it when its position changes).
func (g *LoadBalancerGrain) UpdateL7Policy(req *actorspb.UpdateL7PolicyRequest, ctx cluster.GrainContext) (*actorspb.L7PolicyReply, error) {
	id := req.GetValues().GetId()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		cur, ok := t.policies[id]
		if !ok {
			return nil, grainError(KindNotFound, "L7 Policy %s not found.", id)
		}
		w, err := g.childWrite(t)
		if err != nil {
			return nil, err
		}
		x := writablePolicy(t, w, id)
		if err := applyFields(x, req.GetValues(), req.GetFields()); err != nil {
			return nil, err
		}
		if err := normalizePolicy(x); err != nil {
			return nil, err
		}
		if err := checkPolicyTarget(t, x); err != nil {
			return nil, err
		}
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingUpdate, w.LoadBalancer.UpdatedAt
		if x.Position != cur.Position {
			placePolicy(t, w, x)
		}
		lockListeners(t, w, t.listeners[x.ListenerId])
		return &decision{write: w, intent: storepb.TreeTransaction_UPDATE_L7POLICY}, nil
	})
	if err != nil {
		return nil, err
	}
	row, err := writtenRow(g, func(t *tree) map[string]*storepb.L7Policy { return t.policies }, id)
	if err != nil {
		return nil, err
	}
	return &actorspb.L7PolicyReply{L7Policy: row, Tree: g.replyTree()}, nil
}

// DeleteL7Policy deletes a policy with its rules and closes the gap in positions.
func (g *LoadBalancerGrain) DeleteL7Policy(req *actorspb.DeleteChildRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		cur, ok := t.policies[req.GetId()]
		if !ok {
			return nil, grainError(KindNotFound, "L7 Policy %s not found.", req.GetId())
		}
		w, err := g.childWrite(t)
		if err != nil {
			return nil, err
		}
		now := w.LoadBalancer.UpdatedAt
		x := writablePolicy(t, w, cur.Id)
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingDelete, now
		for _, r := range t.RulesOfPolicy(cur.Id) {
			rx := writableRule(t, w, r.Id)
			rx.ProvisioningStatus, rx.UpdatedAt = StatusPendingDelete, now
		}
		var rest []*storepb.L7Policy
		for _, p := range t.PoliciesOfListener(cur.ListenerId) {
			if p.Id != cur.Id && p.ProvisioningStatus != StatusPendingDelete {
				rest = append(rest, p)
			}
		}
		sort.SliceStable(rest, func(i, j int) bool { return rest[i].Position < rest[j].Position })
		renumber(t, w, rest)
		lockListeners(t, w, t.listeners[cur.ListenerId])
		return &decision{write: w, intent: storepb.TreeTransaction_DELETE_L7POLICY}, nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}

// ruleWrite starts a rule operation: the policy must exist and be ACTIVE (one being
// deleted is immutable, as in Octavia), then the load balancer; policy and listener
// are locked.
func (g *LoadBalancerGrain) ruleWrite(t *tree, policyID string) (*storepb.TreeWrite, *storepb.L7Policy, error) {
	p, ok := t.policies[policyID]
	if !ok {
		return nil, nil, grainError(KindNotFound, "L7 Policy %s not found.", policyID)
	}
	if p.ProvisioningStatus != StatusActive {
		return nil, nil, grainError(KindConflict, "L7Policy %s is immutable and cannot be updated.", policyID)
	}
	w, err := g.childWrite(t)
	if err != nil {
		return nil, nil, err
	}
	px := writablePolicy(t, w, policyID)
	px.ProvisioningStatus, px.UpdatedAt = StatusPendingUpdate, w.LoadBalancer.UpdatedAt
	lockListeners(t, w, t.listeners[p.ListenerId])
	return w, p, nil
}

// CreateL7Rule adds a rule to an L7 policy (at most 50 per policy).
func (g *LoadBalancerGrain) CreateL7Rule(req *actorspb.CreateL7RuleRequest, ctx cluster.GrainContext) (*actorspb.L7RuleReply, error) {
	r := req.GetRule()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		if err := invalid(octaviarules.CheckL7Rule(r)); err != nil {
			return nil, err
		}
		if p, ok := t.policies[r.L7PolicyId]; ok && p.ProvisioningStatus != StatusPendingDelete {
			live := 0
			for _, x := range t.RulesOfPolicy(p.Id) {
				if x.ProvisioningStatus != StatusPendingDelete {
					live++
				}
			}
			if live >= octaviarules.MaxRulesPerPolicy {
				return nil, grainError(KindConflict, "Too many rules on L7 policy %s", p.Id)
			}
		}
		w, p, err := g.ruleWrite(t, r.L7PolicyId)
		if err != nil {
			return nil, err
		}
		x := cloneRow(r)
		x.ListenerId, x.LoadbalancerId, x.ProjectId = p.ListenerId, g.id, t.lb.ProjectId
		x.ProvisioningStatus, x.OperatingStatus = StatusPendingCreate, OperatingOffline
		x.CreatedAt, x.UpdatedAt = w.LoadBalancer.UpdatedAt, 0
		w.L7Rules = append(w.L7Rules, x)
		return &decision{write: w, intent: storepb.TreeTransaction_CREATE_L7RULE}, nil
	})
	if err != nil {
		return nil, err
	}
	row, err := writtenRow(g, func(t *tree) map[string]*storepb.L7Rule { return t.rules }, r.Id)
	if err != nil {
		return nil, err
	}
	return &actorspb.L7RuleReply{Rule: row, Tree: g.replyTree()}, nil
}

// UpdateL7Rule changes a rule.
func (g *LoadBalancerGrain) UpdateL7Rule(req *actorspb.UpdateL7RuleRequest, ctx cluster.GrainContext) (*actorspb.L7RuleReply, error) {
	v := req.GetValues()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		cur, ok := t.rules[v.Id]
		if !ok || cur.L7PolicyId != v.L7PolicyId {
			return nil, grainError(KindNotFound, "L7 Rule %s not found.", v.Id)
		}
		w, _, err := g.ruleWrite(t, cur.L7PolicyId)
		if err != nil {
			return nil, err
		}
		x := writableRule(t, w, v.Id)
		if err := applyFields(x, v, req.GetFields()); err != nil {
			return nil, err
		}
		// The rule as the update leaves it must hold together (the API checked it
		// against the rule it read; this is the rule the write changes).
		if err := invalid(octaviarules.CheckL7Rule(x)); err != nil {
			return nil, err
		}
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingUpdate, w.LoadBalancer.UpdatedAt
		return &decision{write: w, intent: storepb.TreeTransaction_UPDATE_L7RULE}, nil
	})
	if err != nil {
		return nil, err
	}
	row, err := writtenRow(g, func(t *tree) map[string]*storepb.L7Rule { return t.rules }, v.Id)
	if err != nil {
		return nil, err
	}
	return &actorspb.L7RuleReply{Rule: row, Tree: g.replyTree()}, nil
}

// DeleteL7Rule deletes a rule (DeleteChildRequest.id is "<policy id>/<rule id>").
func (g *LoadBalancerGrain) DeleteL7Rule(req *actorspb.DeleteChildRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	policyID, ruleID := splitPath(req.GetId())
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		cur, ok := t.rules[ruleID]
		if !ok || cur.L7PolicyId != policyID {
			return nil, grainError(KindNotFound, "L7 Rule %s not found.", ruleID)
		}
		w, _, err := g.ruleWrite(t, policyID)
		if err != nil {
			return nil, err
		}
		x := writableRule(t, w, ruleID)
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingDelete, w.LoadBalancer.UpdatedAt
		return &decision{write: w, intent: storepb.TreeTransaction_DELETE_L7RULE}, nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}
