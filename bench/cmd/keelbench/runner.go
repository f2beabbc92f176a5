package main

import (
	"fmt"
	"os"
	"sync"
)

// runner satisfies systemtest.T outside go test: failures end the benchmark,
// cleanups run when a scenario ends.
type runner struct {
	mu       sync.Mutex
	cleanups []func()
	dirs     []string
	failed   bool
}

func (r *runner) Helper() {}

func (r *runner) Cleanup(f func()) {
	r.mu.Lock()
	r.cleanups = append(r.cleanups, f)
	r.mu.Unlock()
}

func (r *runner) TempDir() string {
	dir, err := os.MkdirTemp("", "keelbench-")
	if err != nil {
		r.Fatal(err)
	}
	r.mu.Lock()
	r.dirs = append(r.dirs, dir)
	r.mu.Unlock()
	return dir
}

func (r *runner) Failed() bool                    { return r.failed }
func (r *runner) Logf(format string, args ...any) { fmt.Printf(format+"\n", args...) }
func (r *runner) Errorf(format string, args ...any) {
	r.failed = true
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}
func (r *runner) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

func (r *runner) Fatalf(format string, args ...any) {
	r.failed = true
	fmt.Fprintf(os.Stderr, "keelbench: "+format+"\n", args...)
	r.cleanup()
	os.Exit(1)
}

// cleanup stops every process and removes every directory made so far.
func (r *runner) cleanup() {
	r.mu.Lock()
	fs, dirs := r.cleanups, r.dirs
	r.cleanups, r.dirs = nil, nil
	r.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}
