// Package process owns the lifecycle of the daemons the agent runs (haproxy,
// keepalived): starting them as children with their output in a log file, adopting
// one left running by a previous agent process (found through its pid file), signalling
// them, and stopping them with bounded waits and escalation to SIGKILL. A child is
// always reaped by the goroutine that started it.
package process

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a running daemon, started by this agent (a child) or adopted.
type Proc struct {
	pid  int
	done chan struct{} // closed when the process has exited (and, if a child, been reaped)
	err  error         // exit status of a child; valid after done
}

// Start runs name with args as a child in its own process group, stdout and stderr
// appended to logPath (truncated first).
func Start(name string, args []string, logPath string) (*Proc, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Adopt returns the live process pid if its command line contains every one of marks
// (so a recycled pid is not mistaken for our daemon), else nil.
func Adopt(pid int, marks ...string) *Proc {
	if pid <= 0 || !alive(pid) {
		return nil
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return nil
	}
	for _, m := range marks {
		if !bytes.Contains(cmdline, []byte(m)) {
			return nil
		}
	}
	p := &Proc{pid: pid, done: make(chan struct{})}
	go func() {
		// Not our child: poll until it is gone. Bounded by the process's own life.
		for alive(pid) {
			time.Sleep(50 * time.Millisecond)
		}
		close(p.done)
	}()
	return p
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// Field 3, after the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.pid }

// Done is closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitErr is the child's exit status once Exited (nil for adopted processes).
func (p *Proc) ExitErr() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return fmt.Errorf("process %d has exited", p.pid)
	}
	return syscall.Kill(p.pid, sig)
}

// Wait waits up to timeout for the process to exit and reports whether it did.
func (p *Proc) Wait(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// Stop sends first (e.g. a graceful-stop signal), waits up to grace, then SIGTERM and,
// after another grace, SIGKILL to the whole process group. Each signal is repeated
// every 250 ms while waiting: a daemon still initialising may drop a signal that
// arrives before its handlers are in place. It returns once the process is gone, or an
// error if even SIGKILL did not end it within 5 s.
func (p *Proc) Stop(first syscall.Signal, grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	if p.signalUntilExit(first, grace) {
		return nil
	}
	if first != syscall.SIGTERM && p.signalUntilExit(syscall.SIGTERM, grace) {
		return nil
	}
	syscall.Kill(-p.pid, syscall.SIGKILL)
	syscall.Kill(p.pid, syscall.SIGKILL)
	if p.Wait(5 * time.Second) {
		return nil
	}
	return fmt.Errorf("process %d did not exit after SIGKILL", p.pid)
}

func (p *Proc) signalUntilExit(sig syscall.Signal, grace time.Duration) bool {
	deadline := time.Now().Add(grace)
	for {
		syscall.Kill(p.pid, sig)
		wait := min(250*time.Millisecond, time.Until(deadline))
		if wait <= 0 {
			return p.Exited()
		}
		if p.Wait(wait) {
			return true
		}
	}
}

// ReadPidFile returns the first pid in a pid file (0 if absent or unreadable).
func ReadPidFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return pid
}

// Tail returns at most max bytes from the end of a log file, trimmed.
func Tail(path string, max int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return strings.TrimSpace(string(b))
}
