package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"keel/cluster/clusterpb"
	"keel/store"
)

// Raft membership rules (docs/ARCHITECTURE.md, "Raft membership"):
//
//   - Bootstrap: a node without Raft state bootstraps when bootstrap-expect servers
//     (itself included) are alive in gossip with the same expectation and none of them
//     has Raft state yet; all of them then bootstrap the identical server list.
//     With bootstrap-expect 1 a node bootstraps alone unless it was started with
//     -join: a joining node waits for the leader to add it.
//   - The leader adds every alive member missing from the configuration: as a voter
//     while there are fewer than MaxVoters, else as a non-voter; non-voters are
//     promoted when a voter slot frees up.
//   - A member that left gracefully is removed at once.
//   - A dead voter is kept (it may come back with its data dir) unless it has been
//     dead for DeadServerReapAfter and removing it keeps quorum safe: at least
//     MinQuorum voters remain and no more than (voters-1)/2 are dead (raft-autopilot's
//     rule). A dead non-voter is removed after DeadServerReapAfter.
const (
	MaxVoters           = 5
	MinQuorum           = 3
	DeadServerReapAfter = 10 * time.Minute
)

// RaftMembership keeps Raft's configuration in step with gossip.
type RaftMembership struct {
	node            *store.Node
	membership      *Membership
	bootstrapExpect int
	joining         bool
	logger          *slog.Logger

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// StartRaftMembership runs the bootstrap logic and the leader's reconcile loop.
func StartRaftMembership(node *store.Node, m *Membership, bootstrapExpect int, joining bool, logger *slog.Logger) *RaftMembership {
	r := &RaftMembership{node: node, membership: m, bootstrapExpect: bootstrapExpect, joining: joining,
		logger: logger, stop: make(chan struct{})}
	r.wg.Add(1)
	go r.loop(m.Subscribe())
	return r
}

// Stop ends the loops.
func (r *RaftMembership) Stop() {
	r.stopOnce.Do(func() { close(r.stop) })
	r.wg.Wait()
}

func (r *RaftMembership) loop(changes <-chan struct{}) {
	defer r.wg.Done()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		r.step()
		select {
		case <-r.stop:
			return
		case <-changes:
		case <-tick.C:
		}
	}
}

func (r *RaftMembership) step() {
	servers, err := r.node.Configuration()
	if err != nil {
		return
	}
	if len(servers) == 0 {
		r.maybeBootstrap()
		return
	}
	if !r.membership.LocalMeta().RaftInitialized {
		r.membership.UpdateMeta(func(m *clusterpb.NodeMeta) { m.RaftInitialized = true })
	}
	if r.membership.ClusterID() == "" {
		r.adoptClusterID(servers)
	}
	if r.node.LeaderReady() {
		r.reconcile(servers)
	}
}

func (r *RaftMembership) maybeBootstrap() {
	self := raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(r.node.ID()), Address: raft.ServerAddress(r.node.Addr())}
	if r.bootstrapExpect <= 1 {
		if r.joining {
			return // wait for the leader to add us
		}
		r.membership.SetClusterID(newClusterID())
		if err := r.node.Bootstrap([]raft.Server{self}); err != nil {
			r.logger.Error("bootstrap failed", "err", err)
		}
		return
	}
	var servers []raft.Server
	for _, m := range r.membership.Members() {
		if m.State != StateAlive || m.Meta == nil || m.Meta.RaftAddr == "" {
			continue
		}
		if m.Meta.RaftInitialized {
			return // a cluster exists: its leader will add us
		}
		if int(m.Meta.BootstrapExpect) != r.bootstrapExpect {
			continue
		}
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(m.Name), Address: raft.ServerAddress(m.Meta.RaftAddr)})
	}
	if len(servers) < r.bootstrapExpect {
		return
	}
	sort.Slice(servers, func(i, j int) bool { return servers[i].ID < servers[j].ID })
	servers = servers[:r.bootstrapExpect]
	for _, s := range servers {
		if s.ID == self.ID {
			r.logger.Info("bootstrapping raft", "servers", len(servers))
			r.membership.SetClusterID(bootstrapClusterID(servers))
			if err := r.node.Bootstrap(servers); err != nil {
				r.logger.Error("bootstrap failed", "err", err)
			}
			return
		}
	}
}

// newClusterID is a fresh random cluster ID (a node bootstrapping alone).
func newClusterID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// bootstrapClusterID is the cluster ID every node bootstrapping the same server
// list computes alike: a hash of the sorted servers' IDs and addresses.
func bootstrapClusterID(servers []raft.Server) string {
	h := sha256.New()
	for _, s := range servers {
		fmt.Fprintf(h, "%s\x00%s\x00", s.ID, s.Address)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// adoptClusterID gives a node with Raft state but no cluster ID (one the leader
// added) its cluster's: the Raft leader's if gossip shows it, else any configured
// server's. A cluster bootstrapped before cluster IDs existed has none and runs
// without the guard (making one up on a leader could split an upgrading
// cluster in two IDs).
func (r *RaftMembership) adoptClusterID(servers []raft.Server) {
	inConf := map[string]bool{}
	for _, s := range servers {
		inConf[string(s.ID)] = true
	}
	leader, _ := r.node.Leader()
	var id string
	for _, m := range r.membership.Members() {
		if m.Meta == nil || m.Meta.ClusterId == "" || !inConf[m.Name] || m.State != StateAlive {
			continue
		}
		if id == "" || m.Name == leader {
			id = m.Meta.ClusterId
		}
	}
	if id != "" {
		r.logger.Info("cluster id", "id", id)
		r.membership.SetClusterID(id)
	}
}

// raftChange is one step of a reconcile plan.
type raftChange struct {
	op   string // "add-voter", "add-nonvoter", "promote", "remove"
	id   raft.ServerID
	addr raft.ServerAddress
	why  string
}

// planReconcile decides, from the Raft configuration and gossip's view, which
// servers to add, promote and remove (the rules at the top of this file). It is pure,
// so the rules are tested without a cluster.
func planReconcile(self string, servers []raft.Server, members []Member, now time.Time) []raftChange {
	byName := map[string]Member{}
	for _, m := range members {
		byName[m.Name] = m
	}
	inConf := map[raft.ServerID]raft.Server{}
	voters, deadVoters := 0, 0
	for _, s := range servers {
		inConf[s.ID] = s
		if s.Suffrage == raft.Voter {
			voters++
			if m, ok := byName[string(s.ID)]; ok && m.State == StateDead {
				deadVoters++
			}
		}
	}
	var plan []raftChange

	// Removals first: graceful leavers, then dead servers the rules allow to reap.
	for _, s := range servers {
		m, ok := byName[string(s.ID)]
		if string(s.ID) == self || !ok {
			continue // never ourselves; unknown to gossip yet (e.g. a new leader)
		}
		remove, why := false, ""
		switch {
		case m.State == StateLeft:
			remove, why = true, "left"
		case m.State == StateDead && now.Sub(m.Since) > DeadServerReapAfter:
			if s.Suffrage != raft.Voter {
				remove, why = true, "dead non-voter"
			} else if voters-1 >= MinQuorum && deadVoters <= (voters-1)/2 {
				remove, why = true, "dead voter, quorum stays safe"
			}
		}
		if !remove {
			continue
		}
		plan = append(plan, raftChange{op: "remove", id: s.ID, why: why})
		delete(inConf, s.ID)
		if s.Suffrage == raft.Voter {
			voters--
			if m.State == StateDead {
				deadVoters--
			}
		}
	}

	// Additions and promotions of alive members, in name order.
	for _, m := range members {
		if m.State != StateAlive || m.Meta == nil || m.Meta.RaftAddr == "" {
			continue
		}
		id, addr := raft.ServerID(m.Name), raft.ServerAddress(m.Meta.RaftAddr)
		s, ok := inConf[id]
		switch {
		case !ok || s.Address != addr:
			if voters < MaxVoters {
				plan = append(plan, raftChange{op: "add-voter", id: id, addr: addr, why: "alive, not a member"})
				if !ok || s.Suffrage != raft.Voter {
					voters++
				}
			} else {
				plan = append(plan, raftChange{op: "add-nonvoter", id: id, addr: addr, why: "alive, voters full"})
			}
		case s.Suffrage != raft.Voter && voters < MaxVoters:
			plan = append(plan, raftChange{op: "promote", id: id, addr: addr, why: "a voter slot is free"})
			voters++
		}
	}
	return plan
}

// reconcile runs on the leader: it carries out the plan, stopping at the first
// failure (the next pass recomputes it).
func (r *RaftMembership) reconcile(servers []raft.Server) {
	rf := r.node.Raft()
	for _, c := range planReconcile(r.node.ID(), servers, r.membership.Members(), time.Now()) {
		r.logger.Info("raft membership change", "op", c.op, "id", c.id, "addr", c.addr, "why", c.why)
		var err error
		switch c.op {
		case "remove":
			err = rf.RemoveServer(c.id, 0, 5*time.Second).Error()
		case "add-voter", "promote":
			err = rf.AddVoter(c.id, c.addr, 0, 5*time.Second).Error()
		case "add-nonvoter":
			err = rf.AddNonvoter(c.id, c.addr, 0, 5*time.Second).Error()
		}
		if err != nil {
			r.logger.Warn("raft membership change failed", "op", c.op, "id", c.id, "err", err)
			return
		}
	}
}

// LeaveGracefully takes this node out of the cluster before it stops: it hands
// leadership over if it leads, announces its departure in gossip (so the leader will
// not add it back), and asks the leader to remove it from the Raft configuration. Each
// step is bounded; a step that fails is logged and the next one still runs.
func LeaveGracefully(node *store.Node, m *Membership, fwd *ActorForwarder, logger *slog.Logger) {
	servers, _ := node.Configuration()
	others := 0
	for _, s := range servers {
		if string(s.ID) != node.ID() && s.Suffrage == raft.Voter {
			others++
		}
	}
	if node.IsLeader() && others > 0 {
		if err := node.Raft().LeadershipTransfer().Error(); err != nil {
			logger.Warn("leadership transfer failed", "err", err)
		}
	}
	if err := m.Leave(2 * time.Second); err != nil {
		logger.Warn("gossip leave failed", "err", err)
	}
	if others == 0 {
		return
	}
	// The removal is a courtesy: the leader also removes a member gossip shows as
	// left. So it gets a short, bounded try and one log line, not a retry storm.
	deadline := time.Now().Add(removalBudget)
	var lastErr error
	for time.Now().Before(deadline) {
		leader, _ := node.Leader()
		switch {
		case leader == node.ID(): // the transfer did not happen: step out ourselves
			if err := node.Raft().RemoveServer(raft.ServerID(node.ID()), 0, time.Until(deadline)).Error(); err != nil {
				logger.Warn("self removal failed", "err", err)
			}
			return
		case leader == "":
			lastErr = store.ErrNoLeader
		default:
			ctx, cancel := context.WithTimeout(context.Background(), min(time.Second, time.Until(deadline)))
			err := fwd.RemoveServer(ctx, leader, node.ID())
			cancel()
			if err == nil {
				logger.Info("removed from raft configuration", "leader", leader)
				return
			}
			lastErr = err
			if errors.Is(err, store.ErrNoLeader) {
				// The leader is not in our gossip view: no retry can reach it.
				deadline = time.Now()
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	logger.Warn("left without confirming raft removal; the leader removes members gossip shows as left",
		"err", lastErr)
}

// removalBudget bounds a leaving node's request to be removed from Raft.
const removalBudget = 2 * time.Second
