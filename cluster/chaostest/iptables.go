package chaostest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"keel/cluster/systemtest"
)

// Firewall cuts links between nodes with iptables, in chains of its own.
//
// Every node has its own loopback address and runs under its own user id. The
// address alone is not enough: a connection a node opens leaves from 127.0.0.1
// (the route's source address), whoever opens it. So the rules match the sending
// process's uid (-m owner, OUTPUT) and either the receiver's address (connections
// the sender opened, and UDP) or the connection's mark, which the mangle chain
// sets to the opener's uid when a connection starts (replies on connections the
// receiver opened). "from ↛ to" then drops exactly the packets from sends to.
//
// The chains are named after the test process (KEELCHAOS<pid>, KEELCHAOSM<pid>) so
// concurrent test binaries do not collide; Close removes them, and New removes
// chains left by test processes that no longer exist (a killed go test).
type Firewall struct {
	filter, mangle string
	mu             sync.Mutex
	nodes          map[string]*systemtest.Node
	cuts           map[[2]string]bool
}

const chainPrefix = "KEELCHAOS"

// NewFirewall sets up the chains, or says why iptables cannot be used.
func NewFirewall(nodes []*systemtest.Node) (*Firewall, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("not root (uid %d)", os.Geteuid())
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil, fmt.Errorf("no iptables binary (make deps installs it): %v", err)
	}
	for _, n := range nodes {
		if n.UID == 0 {
			return nil, fmt.Errorf("node %s runs as root: its packets cannot be told apart", n.Name)
		}
	}
	RemoveStaleChains()
	pid := os.Getpid()
	f := &Firewall{filter: fmt.Sprintf("%s%d", chainPrefix, pid), mangle: fmt.Sprintf("%sM%d", chainPrefix, pid),
		nodes: map[string]*systemtest.Node{}, cuts: map[[2]string]bool{}}
	for _, n := range nodes {
		f.nodes[n.Name] = n
	}
	steps := [][]string{
		{"-t", "filter", "-N", f.filter},
		{"-t", "mangle", "-N", f.mangle},
		{"-t", "filter", "-I", "OUTPUT", "-j", f.filter},
		{"-t", "mangle", "-I", "OUTPUT", "-j", f.mangle},
	}
	for _, n := range nodes {
		steps = append(steps, []string{"-t", "mangle", "-A", f.mangle, "-m", "owner", "--uid-owner", strconv.Itoa(n.UID),
			"-m", "conntrack", "--ctstate", "NEW", "-j", "CONNMARK", "--set-mark", strconv.Itoa(n.UID)})
	}
	for _, s := range steps {
		if err := iptables(s...); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

func iptables(args ...string) error {
	out, err := exec.Command("iptables", append([]string{"-w", "5"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Cut drops every packet from one node to another (one way).
func (f *Firewall) Cut(from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cuts[[2]string{from, to}] {
		return nil
	}
	a, b := f.nodes[from], f.nodes[to]
	uid := strconv.Itoa(a.UID)
	if err := iptables("-t", "filter", "-A", f.filter, "-m", "owner", "--uid-owner", uid, "-d", b.Host, "-j", "DROP"); err != nil {
		return err
	}
	if err := iptables("-t", "filter", "-A", f.filter, "-m", "owner", "--uid-owner", uid,
		"-m", "connmark", "--mark", strconv.Itoa(b.UID), "-j", "DROP"); err != nil {
		return err
	}
	f.cuts[[2]string{from, to}] = true
	return nil
}

// Isolate cuts node off from every other node, both ways.
func (f *Firewall) Isolate(node string) error {
	for name := range f.nodes {
		if name == node {
			continue
		}
		if err := f.Cut(node, name); err != nil {
			return err
		}
		if err := f.Cut(name, node); err != nil {
			return err
		}
	}
	return nil
}

// Heal removes every cut.
func (f *Firewall) Heal() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cuts = map[[2]string]bool{}
	return iptables("-t", "filter", "-F", f.filter)
}

// Close heals and removes the chains and the jumps to them. Safe to call twice.
func (f *Firewall) Close() {
	if f == nil {
		return
	}
	removeChains(f.filter, f.mangle)
}

func removeChains(filter, mangle string) {
	for table, chain := range map[string]string{"filter": filter, "mangle": mangle} {
		for i := 0; i < 10 && iptables("-t", table, "-D", "OUTPUT", "-j", chain) == nil; i++ {
		}
		_ = iptables("-t", table, "-F", chain)
		_ = iptables("-t", table, "-X", chain)
	}
}

// RemoveStaleChains removes chains of test processes that are gone (a go test
// killed by its timeout runs no cleanup). `make chaos` also calls it when done.
func RemoveStaleChains() {
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		return
	}
	seen := map[int]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, ":"+chainPrefix) {
			continue
		}
		name := strings.Fields(line[1:])[0]
		digits := strings.TrimPrefix(strings.TrimPrefix(name, chainPrefix), "M")
		pid, err := strconv.Atoi(digits)
		if err != nil || seen[pid] {
			continue
		}
		seen[pid] = true
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // still running
		}
		removeChains(fmt.Sprintf("%s%d", chainPrefix, pid), fmt.Sprintf("%sM%d", chainPrefix, pid))
	}
}
