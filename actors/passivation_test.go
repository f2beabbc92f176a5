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
	}, passivateWhenIdle(150*time.Millisecond))
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
