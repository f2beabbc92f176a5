package cluster

import (
	"sort"

	"github.com/hashicorp/raft"

	"keel/store"
)

// NodeStatus is what GET /cluster reports: this node, the leader, every member
// with its gossip state and Raft role, and this node's Raft indexes.
type NodeStatus struct {
	Node    string
	Leader  string
	Members []MemberStatus
	Raft    store.Status
}

// MemberStatus is one member as seen from this node. Raft is "voter", "nonvoter"
// or "none".
type MemberStatus struct {
	Name       string
	Status     string
	Raft       string
	GossipAddr string
	RaftAddr   string
	HTTPAddr   string
}

// Status joins gossip membership with the Raft configuration.
func Status(node *store.Node, m *Membership) NodeStatus {
	leader, _ := node.Leader()
	roles := map[string]string{}
	if servers, err := node.Configuration(); err == nil {
		for _, s := range servers {
			role := "nonvoter"
			if s.Suffrage == raft.Voter {
				role = "voter"
			}
			roles[string(s.ID)] = role
		}
	}
	st := NodeStatus{Node: node.ID(), Leader: leader, Raft: node.Status()}
	seen := map[string]bool{}
	for _, mem := range m.Members() {
		seen[mem.Name] = true
		ms := MemberStatus{Name: mem.Name, Status: string(mem.State), Raft: "none", GossipAddr: mem.Addr}
		if r, ok := roles[mem.Name]; ok {
			ms.Raft = r
		}
		if mem.Meta != nil {
			ms.RaftAddr, ms.HTTPAddr = mem.Meta.RaftAddr, mem.Meta.HttpAddr
		}
		st.Members = append(st.Members, ms)
	}
	for id, role := range roles { // in Raft but never heard of in gossip
		if !seen[id] {
			st.Members = append(st.Members, MemberStatus{Name: id, Status: "unknown", Raft: role})
		}
	}
	sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].Name < st.Members[j].Name })
	return st
}
