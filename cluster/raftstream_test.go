package cluster

import (
	"io"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// raftTransport is a Raft network transport over a TLS stream layer keyed by key.
func raftTransport(t *testing.T, key []byte) *raft.NetworkTransport {
	t.Helper()
	cfg, err := NodeTLS(key)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := NewTLSStreamLayer("127.0.0.1:0", nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := raft.NewNetworkTransport(stream, 2, time.Second, io.Discard)
	t.Cleanup(func() { tr.Close() })
	return tr
}

// answerVotes grants every vote request tr receives and counts them.
func answerVotes(tr *raft.NetworkTransport, seen chan<- struct{}) {
	for rpc := range tr.Consumer() {
		seen <- struct{}{}
		rpc.Respond(&raft.RequestVoteResponse{Granted: true}, nil)
	}
}

// Raft RPCs flow between holders of the same key and never reach a node from
// a caller with another key.
func TestTLSStreamLayerCarriesRaftOnlyBetweenKeyHolders(t *testing.T) {
	key := []byte("0123456789abcdef")
	server := raftTransport(t, key)
	seen := make(chan struct{}, 10)
	go answerVotes(server, seen)

	member := raftTransport(t, key)
	var resp raft.RequestVoteResponse
	req := &raft.RequestVoteRequest{RPCHeader: raft.RPCHeader{ID: []byte("member"), Addr: []byte(member.LocalAddr())}, Term: 7}
	if err := member.RequestVote("server", server.LocalAddr(), req, &resp); err != nil || !resp.Granted {
		t.Fatalf("key holder's vote request: granted %v, err %v", resp.Granted, err)
	}
	<-seen

	stranger := raftTransport(t, []byte("fedcba9876543210"))
	req.Term = 99
	if err := stranger.RequestVote("server", server.LocalAddr(), req, &resp); err == nil {
		t.Fatal("a vote request from another key was answered")
	}
	plain, err := raft.NewTCPTransport("127.0.0.1:0", nil, 2, time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.RequestVote("server", server.LocalAddr(), req, &resp); err == nil {
		t.Fatal("a plaintext vote request was answered")
	}
	select {
	case <-seen:
		t.Fatal("a vote request without the key reached Raft")
	case <-time.After(200 * time.Millisecond):
	}
}
