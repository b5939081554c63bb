package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress shows what the bench is doing on stderr: a bar redrawn in place
// when stderr is a terminal, a plain line every few seconds otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	every time.Duration

	mu       sync.Mutex
	label    string
	total    int64 // steps expected; 0 = unknown (a duration)
	bytes    func() int64
	started  time.Time
	lastLine time.Time
	lastLen  int

	done  atomic.Int64
	errs  atomic.Int64
	moved atomic.Int64 // bytes delivered, when no bytes func

	stop chan struct{}
	wg   sync.WaitGroup
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, tty: isTerminal(w), stop: make(chan struct{})}
	p.every = 5 * time.Second
	refresh := p.every
	if p.tty {
		refresh = 200 * time.Millisecond
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(refresh)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw(false)
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

// begin starts a new step of the bench: total steps expected (0 when
// unknown), bytes reports bytes moved so far (nil: counted by step).
func (p *progress) begin(label string, total int64, bytes func() int64) {
	if p == nil {
		return
	}
	p.draw(true) // finish the previous step's line
	p.mu.Lock()
	p.label, p.total, p.bytes, p.started = label, total, bytes, time.Now()
	p.mu.Unlock()
	p.done.Store(0)
	p.errs.Store(0)
	p.moved.Store(0)
	if !p.tty {
		p.mu.Lock()
		fmt.Fprintf(p.w, "bench: %s…\n", label)
		p.lastLine = time.Now()
		p.mu.Unlock()
	}
}

func (p *progress) step(bytes int64) {
	if p == nil {
		return
	}
	p.done.Add(1)
	p.moved.Add(bytes)
}

func (p *progress) fail() {
	if p == nil {
		return
	}
	p.errs.Add(1)
}

// note prints a line of its own (between bars).
func (p *progress) note(format string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	fmt.Fprintf(p.w, "bench: "+format+"\n", args...)
}

func (p *progress) clearLocked() {
	if p.tty && p.lastLen > 0 {
		fmt.Fprint(p.w, "\r\033[K")
		p.lastLen = 0
	}
}

// Close stops the redraws and clears the bar.
func (p *progress) Close() {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.mu.Lock()
	p.clearLocked()
	p.mu.Unlock()
}

func (p *progress) draw(final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.label == "" {
		return
	}
	if !p.tty && (final || time.Since(p.lastLine) < p.every-50*time.Millisecond) {
		return
	}
	el := time.Since(p.started)
	done, total, errs := p.done.Load(), p.total, p.errs.Load()
	moved := p.moved.Load()
	if p.bytes != nil {
		moved = p.bytes()
	}
	rate := float64(moved) / max(el.Seconds(), 1e-9) / 1e6
	var b strings.Builder
	fmt.Fprintf(&b, "%s ", p.label)
	if total > 0 {
		const width = 24
		frac := min(float64(done)/float64(total), 1)
		fill := int(frac * width)
		if p.tty {
			b.WriteString("[" + strings.Repeat("█", fill) + strings.Repeat("░", width-fill) + "] ")
		}
		fmt.Fprintf(&b, "%d/%d", done, total)
	} else {
		fmt.Fprintf(&b, "%d done", done)
	}
	fmt.Fprintf(&b, "  %.1f MB/s  %s", rate, el.Truncate(100*time.Millisecond))
	if errs > 0 {
		fmt.Fprintf(&b, "  errors %d", errs)
	}
	if p.tty {
		line := b.String()
		fmt.Fprint(p.w, "\r\033[K"+line)
		p.lastLen = len(line)
		if final {
			p.clearLocked()
		}
		return
	}
	fmt.Fprintln(p.w, "bench:   "+b.String())
	p.lastLine = time.Now()
}
