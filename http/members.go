package http

import (
	"net/netip"
	"strconv"

	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors/actorspb"
	"keel/actors/octaviarules"
	"keel/store"
	"keel/store/storepb"
)

type member = *storepb.Member

// members is the Octavia member resource (under /pools/{pool_id}/members). pool_id
// filters but does not render.
var members = newResource[member]("Member", "member", "members",
	func(s *store.State) *store.Table[member] { return s.Members }, []*attr[member]{
		{name: "id", kind: kindString, str: member.GetId, index: store.IndexID},
		{name: "name", kind: kindString, str: member.GetName, index: store.IndexName},
		{name: "operating_status", kind: kindString, str: member.GetOperatingStatus},
		{name: "provisioning_status", kind: kindString, str: member.GetProvisioningStatus},
		{name: "admin_state_up", kind: kindBool, boolean: member.GetAdminStateUp},
		{name: "address", kind: kindString, str: member.GetAddress},
		{name: "protocol_port", kind: kindInt, integer: i32(member.GetProtocolPort)},
		{name: "weight", kind: kindInt, integer: i32(member.GetWeight)},
		{name: "backup", kind: kindBool, boolean: member.GetBackup},
		{name: "subnet_id", kind: kindNullableString, str: member.GetSubnetId},
		{name: "project_id", kind: kindString, str: member.GetProjectId},
		{name: "created_at", kind: kindTimestamp, integer: member.GetCreatedAt},
		{name: "updated_at", kind: kindTimestamp, integer: member.GetUpdatedAt},
		{name: "monitor_address", kind: kindNullableString, str: member.GetMonitorAddress},
		{name: "monitor_port", kind: kindComputed, str: func(v member) string { return optionalInt(v.MonitorPort) },
			render: func(b []byte, v member, _ *store.State) []byte {
				if v.MonitorPort == nil {
					return append(b, "null"...)
				}
				return strconv.AppendInt(b, int64(*v.MonitorPort), 10)
			}},
		{name: "tags", kind: kindTags, list: member.GetTags},
		{name: "tenant_id", kind: kindComputed, render: tenantOf[member]()},
		{name: "pool_id", kind: kindString, str: member.GetPoolId, index: store.IndexPool, hidden: true},
	})

// optionalInt is an optional number as a filter compares it ("" when unset).
func optionalInt(n *int32) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(int(*n))
}

func (s *Server) memberRoutes(r *router.Router, prefix string) {
	r.GET(prefix+"/pools/{id}/members", s.wrap(s.listMembers))
	r.POST(prefix+"/pools/{id}/members", s.wrap(s.createMember))
	r.PUT(prefix+"/pools/{id}/members", s.wrap(s.replaceMembers))
	r.GET(prefix+"/pools/{id}/members/{member_id}", s.wrap(s.showMember))
	r.PUT(prefix+"/pools/{id}/members/{member_id}", s.wrap(s.updateMember))
	r.DELETE(prefix+"/pools/{id}/members/{member_id}", s.wrap(s.deleteMember))
}

// reservedMemberAddresses is Octavia's [networking] reserved_ips default: the
// metadata service's address cannot be a member.
var reservedMemberAddresses = map[netip.Addr]bool{netip.MustParseAddr("169.254.169.254"): true}

// checkMemberAddress refuses a reserved address however it is spelled; Octavia
// (validate.ip_not_reserved) compares, and names, its exploded upper-case form.
func checkMemberAddress(address string) error {
	if a, ok := octaviarules.ParseAddress(address); ok && reservedMemberAddresses[a] {
		return badRequest("%s is not a valid option for member address", octaviarules.ExplodedAddress(a))
	}
	return nil
}

// readMemberAttrs decodes the attributes POST and PUT share. In a PUT a null
// weight is the default (1), a null backup false, and admin_state_up cannot be null.
func readMemberAttrs(f *fieldReader, v *storepb.Member, update bool) {
	v.Name, _ = f.str("name", 255)
	if up, set := f.boolean("admin_state_up"); set {
		v.AdminStateUp = up
	} else if update && f.has("admin_state_up") {
		f.fail(badRequest("Invalid input for field/attribute admin_state_up. Value: 'None'. Value should be boolean"))
	}
	if n, set, null := f.integer("weight", 0, 256); set {
		v.Weight = int32(n)
		if null {
			v.Weight = 1
		}
	}
	if b, set := f.boolean("backup"); set {
		v.Backup = b
	}
	if n, set, null := f.integer("monitor_port", 1, 65535); set && !null {
		p := int32(n)
		v.MonitorPort = &p
	}
	v.MonitorAddress, _ = f.ipStr("monitor_address")
	v.Tags, _ = f.strList("tags", 255)
}

// readMemberCreate decodes one member of a POST or of a batch (Octavia's MemberPOST)
// with its defaults.
func readMemberCreate(f *fieldReader) *storepb.Member {
	v := &storepb.Member{AdminStateUp: true, Weight: 1}
	f.required("address")
	f.required("protocol_port")
	v.Address, _ = f.ipStr("address")
	if n, set, null := f.integer("protocol_port", 1, 65535); set && !null {
		v.ProtocolPort = int32(n)
	}
	readMemberAttrs(f, v, false)
	v.SubnetId, _ = f.uuidStr("subnet_id")
	// A member's project is its pool's; Octavia accepts and ignores these.
	f.str("project_id", 36)
	f.str("tenant_id", 36)
	return v
}

func decodeMemberCreate(body []byte) (*storepb.Member, error) {
	f, err := decodeRoot(body, "member_", "member")
	if err != nil {
		return nil, err
	}
	v := readMemberCreate(f)
	if err := f.finish(); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeMemberUpdate validates a PUT body: the mutable attributes only.
func decodeMemberUpdate(body []byte) (*storepb.Member, []string, error) {
	f, err := decodeRoot(body, "member_", "member")
	if err != nil {
		return nil, nil, err
	}
	v := &storepb.Member{}
	readMemberAttrs(f, v, true)
	if err := f.finish(); err != nil {
		return nil, nil, err
	}
	return v, f.mask(), nil
}

// batchMemberFields are the attributes a batch sets on a member it matches: a
// batch member is a MemberPOST, whose defaults (enabled, weight 1, no backup, no
// monitor address or port) apply; name, tags and subnet_id only when given.
var batchMemberFields = []string{"admin_state_up", "weight", "backup", "monitor_port", "monitor_address"}

// decodeMemberBatch validates a batch body {"members": [MemberPOST, ...]}: the
// members, and for each the attributes it sets on a member it matches.
func decodeMemberBatch(body []byte) ([]*storepb.Member, []*actorspb.FieldList, error) {
	f, err := decodeTop(body, "members_")
	if err != nil {
		return nil, nil, err
	}
	items, set := f.objectList("members")
	if err := f.finish(); err != nil {
		return nil, nil, err
	}
	if !set {
		return nil, nil, badRequest("Invalid input for field/attribute members. Value: 'None'. Mandatory field missing.")
	}
	list := make([]*storepb.Member, len(items))
	fields := make([]*actorspb.FieldList, len(items))
	for i, it := range items {
		list[i] = readMemberCreate(it)
		if err := it.finish(); err != nil {
			return nil, nil, err
		}
		names := append([]string(nil), batchMemberFields...)
		for _, name := range []string{"name", "tags", "subnet_id"} {
			if it.has(name) {
				names = append(names, name)
			}
		}
		fields[i] = &actorspb.FieldList{Names: names}
	}
	return list, fields, nil
}

func (s *Server) listMembers(ctx *fasthttp.RequestCtx) error {
	poolID := pathParam(ctx, "id")
	narrow := narrowBy(store.IndexPool, poolID, member.GetPoolId)
	return serveList(s, ctx, members, func(st *store.State, q *store.Query[member]) error {
		if _, err := poolIn(ctx, st, poolID, rbacMember+actGetAll); err != nil {
			return err
		}
		return narrow(st, q)
	})
}

// memberInPath reads the member a path names: it must belong to the path's pool.
func memberInPath(ctx *fasthttp.RequestCtx, st *store.State, p *storepb.Pool) (*storepb.Member, error) {
	id := pathParam(ctx, "member_id")
	v, found := st.Members.Get(id)
	if !found || v.PoolId != p.Id {
		return nil, notFound("Member %s not found.", id)
	}
	if err := authorize(ctx, rbacMember+actGetOne, v.ProjectId); err != nil {
		return nil, err
	}
	return v, nil
}

func (s *Server) showMember(ctx *fasthttp.RequestCtx) error {
	st, p, err := s.poolInPath(ctx, rbacMember+actGetOne)
	if err != nil {
		return err
	}
	v, err := memberInPath(ctx, st, p)
	if err != nil {
		return err
	}
	members.writeOne(ctx, fasthttp.StatusOK, v, st)
	return nil
}

func (s *Server) createMember(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	poolID := pathParam(ctx, "id")
	var v *storepb.Member
	reply, err := writeTree(s, func(st *store.State) (string, error) {
		p, err := poolIn(ctx, st, poolID, rbacMember+actPost)
		if err != nil {
			return "", err
		}
		if v, err = decodeMemberCreate(ctx.PostBody()); err != nil {
			return "", err
		}
		return p.LoadbalancerId, checkMemberAddress(v.Address)
	}, (*actorspb.LoadBalancerGrainClient).CreateMember, func() *actorspb.CreateMemberRequest {
		v.Id, v.PoolId = uuid.NewString(), poolID
		return &actorspb.CreateMemberRequest{Caller: caller, Member: v}
	})
	if err != nil {
		return err
	}
	members.writeOne(ctx, fasthttp.StatusCreated, reply.Member, treeState(reply.Tree))
	return nil
}

// updateMember routes by the pool in the path; the grain looks the member up
// (404 "Member <id> not found." when it is not the pool's).
func (s *Server) updateMember(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	poolID, id := pathParam(ctx, "id"), pathParam(ctx, "member_id")
	var values *storepb.Member
	var fields []string
	reply, err := writeTree(s, func(st *store.State) (string, error) {
		p, err := poolIn(ctx, st, poolID, rbacMember+actPut)
		if err != nil {
			return "", err
		}
		values, fields, err = decodeMemberUpdate(ctx.PostBody())
		return p.LoadbalancerId, err
	}, (*actorspb.LoadBalancerGrainClient).UpdateMember, func() *actorspb.UpdateMemberRequest {
		values.Id, values.PoolId = id, poolID
		return &actorspb.UpdateMemberRequest{Caller: caller, Values: values, Fields: fields}
	})
	if err != nil {
		return err
	}
	members.writeOne(ctx, fasthttp.StatusOK, reply.Member, treeState(reply.Tree))
	return nil
}

// deleteMember routes by the pool in the path; the grain looks the member up.
func (s *Server) deleteMember(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	poolID, id := pathParam(ctx, "id"), pathParam(ctx, "member_id")
	_, err := writeTree(s, func(st *store.State) (string, error) {
		p, err := poolIn(ctx, st, poolID, rbacMember+actDelete)
		return p.GetLoadbalancerId(), err
	}, (*actorspb.LoadBalancerGrainClient).DeleteMember, func() *actorspb.DeleteChildRequest {
		return &actorspb.DeleteChildRequest{Caller: caller, Id: poolID + "/" + id}
	})
	if err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// replaceMembers is the batch update PUT /pools/{id}/members: 202 with no body.
// additive_only is read as oslo's bool_from_string does (anything unknown: false).
func (s *Server) replaceMembers(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	poolID := pathParam(ctx, "id")
	var list []*storepb.Member
	var fields []*actorspb.FieldList
	additive, _ := parseBool(string(ctx.QueryArgs().Peek("additive_only")))
	_, err := writeTree(s, func(st *store.State) (string, error) {
		// A batch creates, updates and (unless additive_only) deletes: Octavia
		// checks all three rules.
		rules := []string{rbacMember + actPost, rbacMember + actPut}
		if !additive {
			rules = append(rules, rbacMember+actDelete)
		}
		p, err := poolIn(ctx, st, poolID, rules...)
		if err != nil {
			return "", err
		}
		if list, fields, err = decodeMemberBatch(ctx.PostBody()); err != nil {
			return "", err
		}
		for _, m := range list {
			if err := checkMemberAddress(m.Address); err != nil {
				return "", err
			}
		}
		return p.LoadbalancerId, nil
	}, (*actorspb.LoadBalancerGrainClient).ReplaceMembers, func() *actorspb.ReplaceMembersRequest {
		for _, m := range list {
			m.Id, m.PoolId = uuid.NewString(), poolID
		}
		return &actorspb.ReplaceMembersRequest{Caller: caller, PoolId: poolID, Members: list, Fields: fields, AdditiveOnly: additive}
	})
	if err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	return nil
}
