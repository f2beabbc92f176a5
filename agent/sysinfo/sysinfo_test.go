package sysinfo

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRatesFromProcFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "net"), 0o755)
	write := func(cpu, net string) {
		os.WriteFile(filepath.Join(dir, "stat"), []byte(cpu+"\ncpu0 1 2 3\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "net", "dev"), []byte("Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n"+net), 0o644)
	}
	write("cpu  100 0 50 800 50 0 0 0 0 0", "  eth0: 1000 0 0 0 0 0 0 0 5000 0 0 0 0 0 0 0\n")
	s := &Sampler{proc: dir}
	s.record()
	s.samples[0].at = time.Now().Add(-10 * time.Second)
	// +100 user, +20 system, +10 softirq, +870 idle: 1000 jiffies.
	write("cpu  200 0 70 1670 50 0 10 0 0 0", "  eth0: 11000 0 0 0 0 0 0 0 25000 0 0 0 0 0 0 0\n")
	cpu, nets := s.Rates()
	if cpu.User != 10 || cpu.System != 2 || cpu.SoftIRQ != 1 || cpu.Total != 13 {
		t.Fatalf("cpu %+v", cpu)
	}
	r := nets["eth0"]
	if r.RX < 900 || r.RX > 1000 || r.TX < 1800 || r.TX > 2000 {
		t.Fatalf("eth0 %+v", r)
	}
}

func TestSystemReaders(t *testing.T) {
	m, err := ReadMemory()
	if err != nil || m.Total == 0 || m.Available > m.Total {
		t.Fatalf("memory %+v %v", m, err)
	}
	d, err := ReadDisk("/")
	if err != nil || d.Used+d.Available == 0 {
		t.Fatalf("disk %+v %v", d, err)
	}
	if l, err := ReadLoad(); err != nil || len(l) != 3 {
		t.Fatalf("load %v %v", l, err)
	}
	c := &PackageCache{TTL: time.Minute}
	found := false
	for _, p := range c.Versions() {
		if v := p["haproxy"]; v != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("haproxy package not listed: %v", c.Versions())
	}
}
