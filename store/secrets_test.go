package store

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

func initSecrets(req, ca string) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_InitAmphoraSecrets{InitAmphoraSecrets: &storepb.InitAmphoraSecrets{
		Secrets: &storepb.AmphoraSecrets{CaCertPem: ca, CaKeyPem: ca + "-key", HeartbeatKey: "hb-" + ca}}}}
}

// The first complete set of amphora secrets wins on every node; later proposals
// (every node that found none at startup proposes its own) change nothing, and the
// secrets survive a snapshot.
func TestAmphoraSecretsFirstWins(t *testing.T) {
	f := NewFSM()
	incomplete := &storepb.Command{RequestId: "bad", Op: &storepb.Command_InitAmphoraSecrets{InitAmphoraSecrets: &storepb.InitAmphoraSecrets{
		Secrets: &storepb.AmphoraSecrets{CaCertPem: "only"}}}}
	res := applyCmds(t, f, 1, incomplete, initSecrets("n1", "ca-1"), initSecrets("n2", "ca-2"))
	if res[0].Code != storepb.CommandResult_INVALID || res[1].Code != storepb.CommandResult_OK || res[2].Code != storepb.CommandResult_OK {
		t.Fatalf("results: %v", res)
	}
	got := f.State().Current().AmphoraSecrets
	if got.GetCaCertPem() != "ca-1" || got.GetHeartbeatKey() != "hb-ca-1" {
		t.Fatalf("secrets: %v, want the first proposal's", got)
	}

	snap, _ := f.Snapshot()
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := NewFSM()
	if err := g.Restore(nopCloser{sink}); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(g.State().Current().AmphoraSecrets, got) {
		t.Fatalf("restored secrets: %v, want %v", g.State().Current().AmphoraSecrets, got)
	}
}
