package process

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestStartStopReaps(t *testing.T) {
	log := filepath.Join(t.TempDir(), "out.log")
	p, err := Start("/bin/sh", []string{"-c", "echo hello; trap '' USR1; sleep 30"}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(syscall.SIGKILL, time.Second) })
	deadline := time.Now().Add(5 * time.Second)
	for Tail(log, 100) != "hello" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if Tail(log, 100) != "hello" {
		t.Fatalf("log %q", Tail(log, 100))
	}
	if !alive(p.Pid()) || p.Exited() {
		t.Fatal("not running")
	}
	// USR1 is ignored, so Stop must escalate to SIGTERM.
	if err := p.Stop(syscall.SIGUSR1, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() || alive(p.Pid()) {
		t.Fatal("still running")
	}
}

func TestAdoptChecksCommandLine(t *testing.T) {
	dir := t.TempDir()
	p, err := Start("/bin/sh", []string{"-c", "sleep 30", "marker-" + filepath.Base(dir)}, filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(syscall.SIGKILL, time.Second) })
	if Adopt(p.Pid(), "no-such-marker") != nil {
		t.Fatal("adopted a process with another command line")
	}
	a := Adopt(p.Pid(), "marker-"+filepath.Base(dir))
	if a == nil {
		t.Fatal("did not adopt")
	}
	pidFile := filepath.Join(dir, "pid")
	os.WriteFile(pidFile, []byte(strconv.Itoa(p.Pid())+"\n"), 0o600)
	if ReadPidFile(pidFile) != p.Pid() {
		t.Fatal("ReadPidFile")
	}
	p.Stop(syscall.SIGTERM, time.Second)
	if !a.Wait(5 * time.Second) {
		t.Fatal("adopted process not seen exiting")
	}
	if Adopt(p.Pid()) != nil {
		t.Fatal("adopted a dead pid")
	}
}
