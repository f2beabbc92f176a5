package main

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is written by the progress goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestProgressWithoutTerminalPrintsEachTenth(t *testing.T) {
	var out lockedBuffer
	p := startProgressTo(&out, false, "preload", 1000, time.Millisecond)
	for i := 0; i < 10; i++ {
		p.Add(100)
		want := "preload: " + strconv.Itoa((i+1)*100) + "/1000 (" + strconv.Itoa((i+1)*10) + "%)"
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in:\n%s", want, out.String())
			}
			time.Sleep(time.Millisecond)
		}
	}
	p.Finish()
	p.Finish() // a second Finish is harmless
	if lines := strings.Count(out.String(), "\n"); lines != 10 {
		t.Fatalf("%d lines, want one per tenth:\n%s", lines, out.String())
	}
	if strings.Contains(out.String(), "\r") {
		t.Fatalf("carriage returns without a terminal:\n%q", out.String())
	}
}

func TestProgressStoppedEarlySaysWhereItStopped(t *testing.T) {
	var out lockedBuffer
	p := startProgressTo(&out, false, "preload", 1000, time.Hour)
	p.Add(42)
	p.Finish()
	if !strings.Contains(out.String(), "preload: 42/1000 (4%)") {
		t.Fatalf("%q", out.String())
	}
}

func TestProgressOnTerminalDrawsABar(t *testing.T) {
	var out lockedBuffer
	p := startProgressTo(&out, true, "preload", 1000, time.Millisecond)
	p.Add(1000)
	p.Finish()
	s := out.String()
	if !strings.Contains(s, "\r") || !strings.Contains(s, "1000/1000") || !strings.Contains(s, "100%") {
		t.Fatalf("%q", s)
	}
	var nilProgress *progress
	nilProgress.Add(1) // createMany's runs without a bar
}
