package agenttest

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
)

// NetNS is a network namespace made for one test, holding a veth pair (both ends
// inside, so nothing reaches the host) whose first end has a known MAC and is down.
type NetNS struct {
	Name string
	// Link and MAC are the first veth end; Peer is the other end (up).
	Link, Peer, MAC string
}

// NewNetNS creates the namespace; it is deleted at cleanup.
func NewNetNS(t testing.TB) *NetNS {
	t.Helper()
	NeedCommand(t, "ip")
	b := make([]byte, 4)
	rand.Read(b)
	ns := &NetNS{Name: "keeltest-" + hex.EncodeToString(b), Link: "eth1", Peer: "peer1",
		MAC: "02:4b:" + hex.EncodeToString(b[:1]) + ":" + hex.EncodeToString(b[1:2]) + ":" + hex.EncodeToString(b[2:3]) + ":" + hex.EncodeToString(b[3:4])}
	IP(t, "netns", "add", ns.Name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns.Name).Run() })
	IP(t, "-n", ns.Name, "link", "set", "lo", "up")
	IP(t, "-n", ns.Name, "link", "add", ns.Link, "type", "veth", "peer", "name", ns.Peer)
	IP(t, "-n", ns.Name, "link", "set", ns.Link, "address", ns.MAC)
	IP(t, "-n", ns.Name, "link", "set", ns.Peer, "up")
	return ns
}

// IP runs an ip command and fails the test if it fails.
func IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// In runs an ip command inside the namespace and returns its output.
func (ns *NetNS) In(t testing.TB, args ...string) string {
	t.Helper()
	return IP(t, append([]string{"-n", ns.Name}, args...)...)
}
