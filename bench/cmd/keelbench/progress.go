package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how far a long phase bounded by a count (the preload of 100,000
// load balancers, a minute or more) has got, on stderr so that stdout keeps the
// results. On a terminal it is a live bar (schollz/progressbar: count/total, rate
// and time left, redrawn with carriage returns); otherwise (a log, CI) one line per
// tenth of the way. Workers only bump an atomic counter; one goroutine reads it
// five times a second, so the generator spends nothing on drawing.
type progress struct {
	done  atomic.Int64
	stop  chan struct{}
	ended sync.WaitGroup
}

// startProgress starts showing the progress of total operations described by what
// (e.g. "preload: load balancers").
func startProgress(what string, total int) *progress {
	return startProgressTo(os.Stderr, term.IsTerminal(int(os.Stderr.Fd())), what, total, 200*time.Millisecond)
}

func startProgressTo(w io.Writer, tty bool, what string, total int, every time.Duration) *progress {
	p := &progress{stop: make(chan struct{})}
	if total <= 0 {
		close(p.stop)
		return p
	}
	var bar *progressbar.ProgressBar
	if tty {
		bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("lb"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(every),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	start := time.Now()
	nextTenth := int64(1)
	line := func(n int64) {
		elapsed := time.Since(start)
		rate := float64(n) / elapsed.Seconds()
		left := "?"
		if rate > 0 {
			left = time.Duration(float64(int64(total)-n) / rate * float64(time.Second)).Round(time.Second).String()
		}
		if left == "0s" && n < int64(total) {
			left = "under 1s"
		}
		fmt.Fprintf(w, "%s: %d/%d (%d%%), %.0f/s, %s elapsed, about %s left\n", what, n, total,
			n*100/int64(total), rate, elapsed.Round(time.Second), left)
	}
	p.ended.Add(1)
	go func() {
		defer p.ended.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			var stopping bool
			select {
			case <-t.C:
			case <-p.stop:
				stopping = true
			}
			n := min(p.done.Load(), int64(total))
			if bar != nil {
				bar.Set64(n)
				if stopping {
					if !bar.IsFinished() {
						bar.Exit()
						fmt.Fprintln(w)
					}
					return
				}
				continue
			}
			// One line each time another tenth is done, and one at the end.
			if reached := n * 10 / int64(total); reached >= nextTenth || (stopping && n*10%int64(total) != 0) {
				line(n)
				nextTenth = reached + 1
			}
			if stopping {
				return
			}
		}
	}()
	return p
}

// Add counts n more operations done; a nil progress counts nothing.
func (p *progress) Add(n int) {
	if p != nil {
		p.done.Add(int64(n))
	}
}

// Finish draws the final state and stops the display.
func (p *progress) Finish() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.ended.Wait()
}
