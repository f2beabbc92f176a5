package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// maxPeers bounds the peers file: the most useful entries are the current
// members, and a cluster has at most a handful of voters.
const maxPeers = 64

// peer is one member this node has seen alive: its name and gossip address.
type peer struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
}

// peersFile is the on-disk form of the last-known members (Serf's snapshot idea,
// reduced to what a rejoin needs). A node restarted without -join reads it to find
// its cluster again.
type peersFile struct {
	ClusterID string `json:"cluster_id,omitempty"`
	Peers     []peer `json:"peers"`
}

// loadPeers reads the peers file (the remembered peers and the cluster ID); a
// missing file is an empty list.
func loadPeers(path string) (peers map[string]string, clusterID string, err error) {
	peers = map[string]string{}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return peers, "", nil
	}
	if err != nil {
		return peers, "", err
	}
	var f peersFile
	if err := json.Unmarshal(b, &f); err != nil {
		return peers, "", fmt.Errorf("cluster: peers file %s: %w", path, err)
	}
	for _, p := range f.Peers {
		if p.Name != "" && p.Addr != "" {
			peers[p.Name] = p.Addr
		}
	}
	return peers, f.ClusterID, nil
}

// savePeers writes the peers file atomically: a temporary file in the same
// directory, synced, then renamed over the old one, so a crash leaves either the
// old list or the new one.
func savePeers(path, clusterID string, peers map[string]string) error {
	f := peersFile{ClusterID: clusterID, Peers: make([]peer, 0, len(peers))}
	for name, addr := range peers {
		f.Peers = append(f.Peers, peer{Name: name, Addr: addr})
	}
	sort.Slice(f.Peers, func(i, j int) bool { return f.Peers[i].Name < f.Peers[j].Name })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
