package actors

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// A grain stays while messages keep coming and stops once idle; the timer never
// touches the actor's context (run with -race: protoactor's own receive timeout
// races, upstream #1139).
func TestPassivateWhenIdle(t *testing.T) {
	system := actor.NewActorSystem()
	stopped := make(chan struct{})
	received := make(chan struct{}, 100)
	props := actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Stopped:
			close(stopped)
		case string:
			received <- struct{}{}
		}
	}, passivateWhenIdle(150*time.Millisecond, 0))
	pid := system.Root.Spawn(props)

	// Busy for 600 ms (a message every 50 ms): not stopped.
	var lastSend time.Time
	for i := 0; i < 12; i++ {
		lastSend = time.Now()
		system.Root.Send(pid, "call")
		select {
		case <-stopped:
			t.Fatalf("stopped after %d messages, 50 ms apart", i)
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Idle: stopped once the idle time has passed since the last message, within
	// a bounded margin.
	select {
	case <-stopped:
		if d := time.Since(lastSend); d < 140*time.Millisecond {
			t.Fatalf("stopped %v after the last message, before its idle time (150ms)", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not stopped 5 s after its last message")
	}
	if len(received) != 12 {
		t.Fatalf("%d messages reached the actor, want 12 (the idle checks must not)", len(received))
	}
}

// A grain that says it is settled stops after the settled idle time; a message
// after that puts it back on the full idle time until it says so again.
func TestPassivateSettledGrainSooner(t *testing.T) {
	system := actor.NewActorSystem()
	stopped := make(chan struct{})
	props := actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message() {
		case "settle":
			settled(c)
		case "work":
		}
		if _, ok := c.Message().(*actor.Stopped); ok {
			close(stopped)
		}
	}, passivateWhenIdle(time.Minute, 150*time.Millisecond))

	// Settled, then called again: the call cancels the settled idle time.
	pid := system.Root.Spawn(props)
	system.Root.Send(pid, "settle")
	time.Sleep(50 * time.Millisecond)
	system.Root.Send(pid, "work")
	select {
	case <-stopped:
		t.Fatal("stopped within 600 ms although a message came after it settled (idle time: 1 min)")
	case <-time.After(600 * time.Millisecond):
	}

	// Settled again: stopped after about 150 ms.
	start := time.Now()
	system.Root.Send(pid, "settle")
	select {
	case <-stopped:
		if d := time.Since(start); d < 140*time.Millisecond {
			t.Fatalf("stopped %v after settling, before the settled idle time (150ms)", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not stopped 5 s after settling with a settled idle time of 150 ms")
	}
}
