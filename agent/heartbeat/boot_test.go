package heartbeat

import (
	"errors"
	"math"
	"testing"
	"time"
)

// datagram signs a message with the given boot, seq and ts.
func datagram(t *testing.T, boot int64, seq uint64, ts int64) []byte {
	t.Helper()
	d, err := Encode(&Message{ID: amp, Ver: Version, Boot: boot, Seq: seq, Time: ts}, key)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// boot is bounded by time: never after the message's own ts, so (with ts inside the
// window) never beyond the window in the future.
func TestVerifierBootIsBoundedByTime(t *testing.T) {
	c := newClock()
	now := c.now()
	w := DefaultWindow
	for _, c := range []struct {
		name string
		boot int64
		ts   int64
		want error
	}{
		{"boot = ts", now.UnixNano(), ms(now), nil},
		{"boot within ts's millisecond", now.UnixNano() + 999_999, ms(now), nil},
		{"boot an hour ago", now.Add(-time.Hour).UnixNano(), ms(now), nil},
		{"boot 1", 1, ms(now), nil},
		{"boot and ts at the window's edge", now.Add(w).UnixNano(), ms(now.Add(w)), nil},
		{"boot one ms after ts", now.Add(time.Millisecond).UnixNano(), ms(now), ErrMalformed},
		{"boot a minute after ts", now.Add(time.Minute).UnixNano(), ms(now), ErrMalformed},
		{"huge boot", math.MaxInt64, ms(now), ErrMalformed},
		{"huge boot and ts", math.MaxInt64, math.MaxInt64 / int64(time.Millisecond), ErrStale},
		{"boot and ts beyond the window", now.Add(w + time.Second).UnixNano(), ms(now.Add(w + time.Second)), ErrStale},
		{"boot 0", 0, ms(now), ErrMalformed},
		{"negative ts", 1, -1, ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := NewVerifier(key, VerifierOptions{Now: func() time.Time { return now }})
			_, err := v.Verify(datagram(t, c.boot, 0, c.ts))
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

// A forged heartbeat (signed by a holder of the key) with a huge boot or seq made the
// verifier reject the amphora's genuine heartbeats for good. Now the genuine ones are
// accepted again at most one window (plus one interval) later, the forged datagram
// cannot take the amphora back when replayed, and a genuine newer process wins.
func TestVerifierForgedPositionIsLetGo(t *testing.T) {
	const interval = 10 * time.Second
	w := DefaultWindow
	bootAgo := time.Hour
	for _, c := range []struct {
		name   string
		forged func(now time.Time, genuineBoot int64) (boot int64, seq uint64, ts int64)
	}{
		{"largest boot allowed, ts at the window's edge", func(now time.Time, _ int64) (int64, uint64, int64) {
			return now.Add(w).UnixNano(), 0, ms(now.Add(w))
		}},
		{"larger boot, ts now", func(now time.Time, _ int64) (int64, uint64, int64) {
			return now.UnixNano(), 0, ms(now)
		}},
		{"the genuine boot, huge seq, ts at the window's edge", func(now time.Time, boot int64) (int64, uint64, int64) {
			return boot, math.MaxUint64, ms(now.Add(w))
		}},
		{"the genuine boot, next seq, ts at the window's edge", func(now time.Time, boot int64) (int64, uint64, int64) {
			return boot, 1, ms(now.Add(w))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := newClock()
			v := NewVerifier(key, VerifierOptions{Now: clk.now})
			boot := clk.now().Add(-bootAgo).UnixNano()
			var seq uint64
			genuine := func() error {
				_, err := v.Verify(datagram(t, boot, seq, ms(clk.now())))
				seq++
				return err
			}
			if err := genuine(); err != nil {
				t.Fatal(err)
			}
			fb, fs, fts := c.forged(clk.now(), boot)
			forged := datagram(t, fb, fs, fts)
			if _, err := v.Verify(forged); err != nil {
				t.Fatalf("forged datagram: %v (this test needs it accepted)", err)
			}
			start := clk.now()
			for {
				clk.add(interval)
				// Replays of the forged datagram do not refresh its position.
				if _, err := v.Verify(forged); err == nil {
					t.Fatal("replayed forged datagram accepted")
				}
				err := genuine()
				if err == nil {
					break
				}
				if !errors.Is(err, ErrReplay) {
					t.Fatal(err)
				}
				if silenced := clk.now().Sub(start); silenced > w+interval {
					t.Fatalf("genuine heartbeats still refused %s after the forged one", silenced)
				}
			}
			// The forged datagram, replayed while still fresh, does not take over again.
			for i := 0; i < 3; i++ {
				if _, err := v.Verify(forged); err == nil {
					t.Fatal("replayed forged datagram accepted again")
				}
				if err := genuine(); err != nil {
					t.Fatalf("genuine heartbeat after a replayed forged one: %v", err)
				}
				clk.add(interval)
			}
		})
	}
}

// The order rule, step by step: each step moves the receiver's clock, then verifies a
// message of (boot, seq) whose ts is the receiver's time plus skew.
func TestVerifierOrder(t *testing.T) {
	const s = time.Second
	type step struct {
		advance time.Duration
		boot    int64 // seconds before the test's start (its start time, as agents use)
		seq     uint64
		skew    time.Duration
		want    error
	}
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"a sequence, a replay, a reordered datagram", []step{
			{0, 100, 0, 0, nil}, {10 * s, 100, 1, 0, nil}, {0, 100, 1, 0, ErrReplay}, {10 * s, 100, 3, 0, nil},
			{0, 100, 2, -5 * s, ErrReplay},
		}},
		{"several in one millisecond", []step{{0, 100, 0, 0, nil}, {0, 100, 1, 0, nil}, {0, 100, 2, 0, nil}, {0, 100, 2, 0, ErrReplay}}},
		{"a restarted agent wins; the old process's copies lose", []step{
			{0, 100, 7, 0, nil}, {10 * s, 5, 0, 0, nil}, {0, 100, 8, -1 * s, ErrReplay}, {10 * s, 5, 1, 0, nil},
		}},
		{"a still-running older process loses while the newer one sends", []step{
			{0, 5, 0, 0, nil}, {5 * s, 100, 50, 0, ErrReplay}, {5 * s, 5, 1, 0, nil}, {5 * s, 100, 51, 0, ErrReplay},
			{5 * s, 5, 2, 0, nil}, {25 * s, 100, 52, 0, ErrReplay}, {5 * s, 5, 3, 0, nil},
		}},
		{"an older process is taken again once the newer one is silent longer than the window", []step{
			// ...and the newer one, sending again, wins again.
			{0, 5, 0, 0, nil}, {30 * s, 100, 50, 0, ErrReplay}, {time.Millisecond, 100, 51, 0, nil},
			{time.Millisecond, 5, 1, 0, nil}, {time.Millisecond, 100, 52, 0, ErrReplay},
		}},
		{"a message earlier than the last accepted loses, whatever its (boot, seq)", []step{
			{0, 100, 0, 10 * s, nil}, {0, 1, 0, 0, ErrReplay}, {0, 100, 1, 0, ErrReplay}, {10 * s, 100, 1, 0, nil},
		}},
		{"a stale copy is refused before its order is looked at", []step{
			{0, 100, 0, -31 * s, ErrStale}, {0, 100, 0, 0, nil},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := newClock()
			start := clk.now()
			v := NewVerifier(key, VerifierOptions{Now: clk.now})
			for i, st := range c.steps {
				clk.add(st.advance)
				boot := start.Add(-time.Duration(st.boot) * s).UnixNano()
				_, err := v.Verify(datagram(t, boot, st.seq, ms(clk.now().Add(st.skew))))
				if st.want == nil && err != nil || st.want != nil && !errors.Is(err, st.want) {
					t.Fatalf("step %d %+v: %v, want %v", i, st, err, st.want)
				}
			}
		})
	}
}
