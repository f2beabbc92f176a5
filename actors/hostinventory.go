package actors

import (
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"keel/actors/leasepb"
	"keel/actors/reservation"
	"keel/store"
	"keel/store/storepb"
)

// HostInventoryIdentity names the host inventory grain that writes a request's
// row: the host's id (one writer per host, so writes to different hosts run
// side by side: a single grain serialised every write behind a read barrier,
// and 16 concurrent creates on a follower timed out), or "property/<name>"
// for a property's privacy. Names stay unique across hosts because the FSM
// refuses a second host of a name (ALREADY_EXISTS), which the grain then
// decides again on a fresh read.
func HostInventoryIdentity(req *leasepb.HostWriteRequest) string {
	if req.GetOp() == leasepb.HostWriteRequest_SET_PROPERTY {
		return "property/" + req.GetPropertyName()
	}
	if req.GetHostId() == "" {
		return "host/new" // the grain makes the id
	}
	return "host/" + req.GetHostId()
}

// HostInventoryGrain writes keel's inventory of physical hosts (Blazar's
// os-hosts) and the privacy of resource properties: one grain per host (or
// property), so one writer of each row; the FSM's compare-and-set and unique
// names keep a duplicate activation harmless. Only administrators write (Blazar's oshosts policy).
// The BMC credentials a body carries go into Host.bmc and never into a log
// line or an error.
type HostInventoryGrain struct {
	rt *Runtime
}

var _ leasepb.HostInventory = (*HostInventoryGrain)(nil)

// Init binds the grain to its node.
func (g *HostInventoryGrain) Init(ctx cluster.GrainContext) { g.rt = runtimeOf(ctx.ActorSystem()) }

// Terminate has nothing to release: the grain keeps no state between calls.
func (g *HostInventoryGrain) Terminate(ctx cluster.GrainContext) {}

// ReceiveDefault ignores messages that are not calls.
func (g *HostInventoryGrain) ReceiveDefault(ctx cluster.GrainContext) {}

// hostRules are the policy rules of the operations.
var hostRules = map[leasepb.HostWriteRequest_Op]string{
	leasepb.HostWriteRequest_CREATE:       reservation.RuleHostsPost,
	leasepb.HostWriteRequest_UPDATE:       reservation.RuleHostsPut,
	leasepb.HostWriteRequest_DELETE:       reservation.RuleHostsDelete,
	leasepb.HostWriteRequest_SET_PROPERTY: reservation.RuleHostsUpdateResourceProperties,
}

// Write makes one change: CREATE (host_id is the new host's id; the API makes
// it, the grain if it is empty), UPDATE, DELETE, SET_PROPERTY. It answers with
// the host or property as stored (nothing after a delete).
func (g *HostInventoryGrain) Write(req *leasepb.HostWriteRequest, ctx cluster.GrainContext) (*leasepb.HostWriteReply, error) {
	caller := req.GetCaller()
	rule, ok := hostRules[req.GetOp()]
	if !ok {
		return nil, grainError(KindInvalid, "host write %v", req.GetOp())
	}
	if !caller.GetAdmin() {
		return nil, blazarError(reservation.ErrPolicy(rule))
	}
	if req.GetOp() == leasepb.HostWriteRequest_SET_PROPERTY {
		return g.setProperty(req)
	}
	hostID := req.GetHostId()
	if hostID == "" && req.GetOp() == leasepb.HostWriteRequest_CREATE {
		hostID = uuid.NewString()
	}
	var decided func(st *store.State) (*storepb.Command, error)
	switch req.GetOp() {
	case leasepb.HostWriteRequest_CREATE:
		spec, err := reservation.ParseHostCreate(req.GetBody())
		if err != nil {
			return nil, blazarError(err)
		}
		decided = func(st *store.State) (*storepb.Command, error) { return g.decideCreate(st, hostID, spec) }
	case leasepb.HostWriteRequest_UPDATE:
		u, err := reservation.ParseHostUpdate(req.GetBody())
		if err != nil {
			return nil, blazarError(err)
		}
		decided = func(st *store.State) (*storepb.Command, error) { return g.decideUpdate(st, hostID, u) }
	case leasepb.HostWriteRequest_DELETE:
		decided = func(st *store.State) (*storepb.Command, error) {
			cur := st.Host(hostID)
			switch {
			case cur == nil:
				return nil, reservation.ErrHostNotFound(hostID)
			case st.HostAllocated(hostID):
				return nil, reservation.ErrHostReserved(hostID)
			}
			return hostCommand(&storepb.HostOperation{Op: storepb.HostOperation_DELETE, HostId: hostID,
				ExpectedVersion: cur.Version}), nil
		}
	}
	// A lost race (version moved, the host appeared, vanished or got an
	// allocation) is decided again on what the other writer left.
	var written *storepb.Host
	decide := func(st *store.State) (*storepb.Command, error) {
		cmd, err := decided(st)
		written = cmd.GetHostOperation().GetHost()
		return cmd, err
	}
	res, err := g.rt.proposeDecided(caller, blazarAttempts, decide, lostRace)
	if err != nil {
		if _, err = settleRefusal(g.rt, caller, err); err != nil {
			return nil, err
		}
	}
	if req.GetOp() == leasepb.HostWriteRequest_DELETE {
		return &leasepb.HostWriteReply{}, nil
	}
	if err == nil && res != nil && !res.Replayed && written != nil {
		// The row as written: the reply needs no read (a read barrier on a
		// follower waits for the leader to tell it the new commit).
		h := proto.Clone(written).(*storepb.Host)
		h.Version = res.Version
		return &leasepb.HostWriteReply{Host: h}, nil
	}
	st, err := g.rt.read()
	if err != nil {
		return nil, unavailable(err)
	}
	h := st.Host(hostID)
	if h == nil {
		return nil, blazarError(reservation.ErrHostNotFound(hostID))
	}
	return &leasepb.HostWriteReply{Host: h}, nil
}

func hostCommand(op *storepb.HostOperation) *storepb.Command {
	return &storepb.Command{Op: &storepb.Command_HostOperation{HostOperation: op}}
}

// decideCreate refuses a name another host has (Blazar's Placement conflict),
// else puts the new host.
func (g *HostInventoryGrain) decideCreate(st *store.State, hostID string, spec reservation.HostSpec) (*storepb.Command, error) {
	if st.HostByName(spec.Name) != nil {
		return nil, reservation.ErrHostProviderExists(spec.Name)
	}
	if st.Host(hostID) != nil {
		return nil, grainError(KindConflict, "Host %s already exists", hostID)
	}
	now := g.rt.Now().UnixMicro()
	h := &storepb.Host{
		Id: hostID, Name: spec.Name, HypervisorHostname: spec.HypervisorHostname, ServiceName: spec.ServiceName,
		HypervisorType: spec.HypervisorType, HypervisorVersion: spec.HypervisorVersion, Vcpus: spec.VCPUs,
		MemoryMb: spec.MemoryMB, LocalGb: spec.LocalGB, CpuInfo: spec.CPUInfo, AvailabilityZone: spec.Zone,
		Reservable: true, ExtraCapabilities: spec.Capabilities, CreatedAtUs: now, UpdatedAtUs: now,
		Bmc: &storepb.Bmc{Address: spec.BMC.Address, Port: spec.BMC.Port, Username: spec.BMC.Username,
			Password: spec.BMC.Password, PowerDriver: spec.BMC.PowerDriver},
	}
	return hostCommand(&storepb.HostOperation{Op: storepb.HostOperation_PUT, HostId: hostID, Host: h}), nil
}

// decideUpdate changes capabilities and BMC keys. A capability the host has
// that a resource_properties filter of a pending or active reservation
// holding the host names cannot change (Blazar's CantAddExtraCapability).
func (g *HostInventoryGrain) decideUpdate(st *store.State, hostID string, u reservation.HostUpdate) (*storepb.Command, error) {
	cur := st.Host(hostID)
	if cur == nil {
		return nil, reservation.ErrHostNotFound(hostID)
	}
	var existing []string
	for k := range u.Capabilities {
		if _, ok := cur.ExtraCapabilities[k]; ok {
			existing = append(existing, k)
		}
	}
	if len(existing) > 0 {
		var filters []string
		for _, a := range st.AllocationsOfHost(hostID) {
			l := st.LeaseOfReservation(a.ReservationId)
			for _, r := range l.GetReservations() {
				if r.Id == a.ReservationId && r.ResourceProperties != "" &&
					(r.Status == reservation.ReservationPending || r.Status == reservation.ReservationActive) {
					filters = append(filters, r.ResourceProperties)
				}
			}
		}
		if used := reservation.CapabilitiesInUse(existing, filters); len(used) > 0 {
			return nil, reservation.ErrCapabilityInUse(used, hostID)
		}
	}
	h := proto.Clone(cur).(*storepb.Host)
	if h.ExtraCapabilities == nil {
		h.ExtraCapabilities = map[string]string{}
	}
	for k, v := range u.Capabilities {
		h.ExtraCapabilities[k] = v
	}
	if len(u.BMC.Set) > 0 {
		if h.Bmc == nil {
			h.Bmc = &storepb.Bmc{}
		}
		b := u.BMC
		set := func(key string) bool { return b.Set[key] }
		if set(reservation.KeyBMCAddress) {
			h.Bmc.Address = b.Address
		}
		if set(reservation.KeyBMCPort) {
			h.Bmc.Port = b.Port
		}
		if set(reservation.KeyBMCUsername) {
			h.Bmc.Username = b.Username
		}
		if set(reservation.KeyBMCPassword) {
			h.Bmc.Password = b.Password
		}
		if set(reservation.KeyPowerDriver) {
			h.Bmc.PowerDriver = b.PowerDriver
		} else if set(reservation.KeyBMCAddress) && h.Bmc.PowerDriver == reservation.PowerDriverFake && b.Address != "" {
			h.Bmc.PowerDriver = reservation.PowerDriverIPMI // an address now: a real BMC, as on create
		}
	}
	h.UpdatedAtUs = g.rt.Now().UnixMicro()
	return hostCommand(&storepb.HostOperation{Op: storepb.HostOperation_PUT, HostId: hostID,
		ExpectedVersion: cur.Version, Host: h}), nil
}

// setProperty sets whether a resource property is private: {"private": bool}.
// An unknown property is 404 (Blazar: a 500 from its database layer).
func (g *HostInventoryGrain) setProperty(req *leasepb.HostWriteRequest) (*leasepb.HostWriteReply, error) {
	name := req.GetPropertyName()
	private, err := reservation.ParsePropertyUpdate(req.GetBody())
	if err != nil {
		return nil, blazarError(err)
	}
	_, err = g.rt.proposeDecided(req.GetCaller(), 1, func(st *store.State) (*storepb.Command, error) {
		if st.ResourceProperty(name) == nil {
			return nil, reservation.ErrPropertyNotFound(name)
		}
		return &storepb.Command{Op: &storepb.Command_SetResourceProperty{SetResourceProperty: &storepb.SetResourceProperty{
			PropertyName: name, Private: private}}}, nil
	}, nil)
	if err != nil {
		if _, err = settleRefusal(g.rt, req.GetCaller(), err); err != nil {
			return nil, err
		}
	}
	st, err := g.rt.read()
	if err != nil {
		return nil, unavailable(err)
	}
	p := st.ResourceProperty(name)
	if p == nil {
		return nil, blazarError(reservation.ErrPropertyNotFound(name))
	}
	return &leasepb.HostWriteReply{Property: p}, nil
}
