// Package sysinfo owns the system figures of the agent's details endpoint: CPU use and
// network throughput over a sliding window (sampled from /proc/stat and /proc/net/dev),
// memory (/proc/meminfo), root filesystem use (statfs), load (/proc/loadavg) and the
// versions of the load-balancing packages installed (dpkg-query, cached).
package sysinfo

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Window is the span CPU and network rates are computed over (the seed's 30 s snapshot).
const Window = 30 * time.Second

type cpuTimes struct{ user, nice, system, idle, iowait, irq, softirq, steal uint64 }

func (c cpuTimes) total() uint64 {
	return c.user + c.nice + c.system + c.idle + c.iowait + c.irq + c.softirq + c.steal
}

type netCounters struct{ rx, tx uint64 }

type sample struct {
	at  time.Time
	cpu cpuTimes
	net map[string]netCounters
}

// Sampler keeps samples of CPU and network counters.
type Sampler struct {
	proc    string // /proc
	mu      sync.Mutex
	samples []sample
}

// NewSampler takes a first sample.
func NewSampler() *Sampler {
	s := &Sampler{proc: "/proc"}
	s.record()
	return s
}

func (s *Sampler) read() sample {
	sm := sample{at: time.Now(), net: map[string]netCounters{}}
	if b, err := os.ReadFile(s.proc + "/stat"); err == nil {
		line, _, _ := bytes.Cut(b, []byte("\n"))
		f := strings.Fields(string(line))
		v := make([]uint64, 9)
		for i := 1; i < len(f) && i < 9; i++ {
			v[i], _ = strconv.ParseUint(f[i], 10, 64)
		}
		sm.cpu = cpuTimes{v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]}
	}
	if b, err := os.ReadFile(s.proc + "/net/dev"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			name, rest, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			f := strings.Fields(rest)
			if len(f) < 9 {
				continue
			}
			rx, _ := strconv.ParseUint(f[0], 10, 64)
			tx, _ := strconv.ParseUint(f[8], 10, 64)
			sm.net[strings.TrimSpace(name)] = netCounters{rx: rx, tx: tx}
		}
	}
	return sm
}

func (s *Sampler) record() {
	sm := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, sm)
	// Keep what the window needs plus one older sample.
	for len(s.samples) > 2 && sm.at.Sub(s.samples[1].at) > Window {
		s.samples = s.samples[1:]
	}
}

// Run samples every interval until ctx ends.
func (s *Sampler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.record()
		}
	}
}

// CPU is CPU use in percent of all CPUs' time over the window.
type CPU struct {
	Total   float64 `json:"total"`
	User    float64 `json:"user"`
	System  float64 `json:"system"`
	SoftIRQ float64 `json:"soft_irq"`
}

// NetRate is an interface's throughput in bytes per second over the window.
type NetRate struct {
	TX uint64 `json:"network_tx"`
	RX uint64 `json:"network_rx"`
}

// Rates compares a fresh reading with the oldest sample inside the window.
func (s *Sampler) Rates() (CPU, map[string]NetRate) {
	now := s.read()
	s.mu.Lock()
	base := s.samples[0]
	for _, sm := range s.samples {
		if now.at.Sub(sm.at) <= Window+time.Second {
			base = sm
			break
		}
	}
	s.mu.Unlock()
	var cpu CPU
	if d := float64(now.cpu.total() - base.cpu.total()); now.cpu.total() > base.cpu.total() {
		pct := func(a, b uint64) float64 {
			if a < b {
				return 0
			}
			return math.Round(float64(a-b)/d*10000) / 100
		}
		idle := pct(now.cpu.idle+now.cpu.iowait, base.cpu.idle+base.cpu.iowait)
		cpu = CPU{Total: math.Round((100-idle)*100) / 100, User: pct(now.cpu.user+now.cpu.nice, base.cpu.user+base.cpu.nice),
			System: pct(now.cpu.system, base.cpu.system), SoftIRQ: pct(now.cpu.softirq, base.cpu.softirq)}
	}
	nets := map[string]NetRate{}
	secs := now.at.Sub(base.at).Seconds()
	for name, c := range now.net {
		b, ok := base.net[name]
		r := NetRate{}
		if ok && secs > 0 && c.rx >= b.rx && c.tx >= b.tx {
			r = NetRate{RX: uint64(float64(c.rx-b.rx) / secs), TX: uint64(float64(c.tx-b.tx) / secs)}
		}
		nets[name] = r
	}
	return cpu, nets
}

// Memory is /proc/meminfo in kilobytes.
type Memory struct {
	Total       uint64 `json:"total"`
	Free        uint64 `json:"free"`
	Available   uint64 `json:"available"`
	Buffers     uint64 `json:"buffers"`
	Cached      uint64 `json:"cached"`
	SwapUsed    uint64 `json:"swap_used"`
	Shared      uint64 `json:"shared"`
	Slab        uint64 `json:"slab"`
	CommittedAS uint64 `json:"committed_as"`
}

// ReadMemory reads /proc/meminfo.
func ReadMemory() (Memory, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return Memory{}, err
	}
	v := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) > 0 {
			v[k], _ = strconv.ParseUint(f[0], 10, 64)
		}
	}
	if v["MemTotal"] == 0 {
		return Memory{}, fmt.Errorf("no MemTotal in /proc/meminfo")
	}
	swapUsed := uint64(0)
	if v["SwapTotal"] > v["SwapFree"] {
		swapUsed = v["SwapTotal"] - v["SwapFree"]
	}
	return Memory{Total: v["MemTotal"], Free: v["MemFree"], Available: v["MemAvailable"], Buffers: v["Buffers"],
		Cached: v["Cached"], SwapUsed: swapUsed, Shared: v["Shmem"], Slab: v["Slab"], CommittedAS: v["Committed_AS"]}, nil
}

// Disk is a filesystem's use in kilobytes.
type Disk struct {
	Used      uint64 `json:"used"`
	Available uint64 `json:"available"`
}

// ReadDisk reads the use of the filesystem holding path.
func ReadDisk(path string) (Disk, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return Disk{}, err
	}
	bs := uint64(st.Bsize)
	return Disk{Used: (st.Blocks - st.Bfree) * bs / 1024, Available: st.Bavail * bs / 1024}, nil
}

// ReadLoad reads the 1, 5 and 15 minute load averages.
func ReadLoad() ([]float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return nil, fmt.Errorf("unexpected /proc/loadavg: %q", b)
	}
	out := make([]float64, 3)
	for i := range out {
		out[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return out, nil
}

// Packages are the Debian packages reported by details.
var Packages = []string{"haproxy", "keepalived", "openssl", "libssl3", "iproute2", "iptables", "ipvsadm", "bash"}

// PackageCache caches installed package versions (they change rarely and dpkg-query
// costs a fork).
type PackageCache struct {
	TTL time.Duration
	mu  sync.Mutex
	at  time.Time
	val []map[string]string
}

// Versions lists installed packages among Packages as one-entry maps {name: version}
// (the seed's shape), in Packages order.
func (c *PackageCache) Versions() []map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.val != nil && time.Since(c.at) < c.TTL {
		return c.val
	}
	args := append([]string{"-W", "-f", "${Package}\t${Version}\t${db:Status-Abbrev}\n"}, Packages...)
	out, _ := exec.Command("dpkg-query", args...).Output() // exits 1 if some are unknown
	found := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 3 && strings.HasPrefix(f[2], "ii") {
			found[f[0]] = f[1]
		}
	}
	val := []map[string]string{}
	for _, p := range Packages {
		if v, ok := found[p]; ok {
			val = append(val, map[string]string{p: v})
		}
	}
	c.val, c.at = val, time.Now()
	return val
}
