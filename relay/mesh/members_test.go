package mesh

import (
	"slices"
	"testing"
	"time"
)

// TestMembers walks the membership table through joins, updates, leaves,
// restarts and expiry on a fake clock: expiry counts from when an
// announcement arrived, whatever time its sender wrote.
func TestMembers(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ann := func(id, inst, state string) announcement {
		// Started is far in the future: a sender's clock is not trusted.
		return announcement{V: 1, ID: id, Instance: inst, State: state, URL: "https://" + id, Started: t0.Add(100 * time.Hour)}
	}
	type step struct {
		name        string
		apply       *announcement // else expire at `at`
		at          int           // ms
		wantChanged bool
		wantAnswer  bool
		wantLive    []string
	}
	a := func(id, inst, state string) *announcement { x := ann(id, inst, state); return &x }
	steps := []step{
		{"b joins", a("b", "b1", stateJoin), 0, true, true, []string{"b", "self"}},
		{"c is up", a("c", "c1", stateUp), 10, true, false, []string{"b", "c", "self"}},
		{"b again: no change", a("b", "b1", stateUp), 900, false, false, []string{"b", "c", "self"}},
		{"own id from another process: ignored", a("self", "other", stateUp), 950, false, false, []string{"b", "c", "self"}},
		{"nothing expired yet", nil, 1000, false, false, []string{"b", "c", "self"}},
		{"c expires, b heard at 900 stays", nil, 1011, true, false, []string{"b", "self"}},
		{"b restarted: a new instance replaces it", a("b", "b2", stateJoin), 1500, false, true, []string{"b", "self"}},
		{"a leave of b's old instance is ignored", a("b", "b1", stateLeave), 1600, false, false, []string{"b", "self"}},
		{"b leaves", a("b", "b2", stateLeave), 1700, true, false, []string{"self"}},
		{"leave of an unknown relay", a("z", "z1", stateLeave), 1800, false, false, []string{"self"}},
	}
	ms := newMembers("self", "me", time.Second)
	_, ch := ms.watch()
	for _, s := range steps {
		var changed, answer bool
		if s.apply != nil {
			changed, answer = ms.apply(*s.apply, at(s.at))
		} else {
			changed = ms.expire(at(s.at))
		}
		if changed != s.wantChanged || answer != s.wantAnswer {
			t.Errorf("%s: changed %v answer %v, want %v %v", s.name, changed, answer, s.wantChanged, s.wantAnswer)
		}
		if got := ms.live(); !slices.Equal(got, s.wantLive) {
			t.Errorf("%s: live %v, want %v", s.name, got, s.wantLive)
		}
		select {
		case <-ch:
			if !changed {
				t.Errorf("%s: watch fired without a change", s.name)
			}
			_, ch = ms.watch()
		default:
			if changed {
				t.Errorf("%s: watch did not fire", s.name)
			}
		}
	}
	if ms.duplicates() != 1 {
		t.Errorf("%d duplicate-id announcements, want 1", ms.duplicates())
	}
	ms.apply(ann("d", "d1", stateUp), at(2000))
	if l := ms.list(at(2250)); len(l) != 1 || l[0].ID != "d" || l[0].SeenMS != 250 || l[0].URL != "https://d" {
		t.Errorf("list = %+v", l)
	}
	if !ms.reset() || !slices.Equal(ms.live(), []string{"self"}) || ms.reset() {
		t.Errorf("reset: live %v", ms.live())
	}
}

func TestRemotes(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	rs := newRemotes(Config{TimeoutMin: 50 * time.Millisecond, TimeoutMax: time.Second, SuspectFor: 3 * time.Second, ExcludeFor: time.Minute, Strikes: 2})
	if d := rs.timeout("x"); d != time.Second {
		t.Errorf("timeout before a sample %v, want TimeoutMax", d)
	}
	rs.rtt("x", 2*time.Millisecond)
	if d := rs.timeout("x"); d != 50*time.Millisecond {
		t.Errorf("timeout for 2 ms %v, want TimeoutMin", d)
	}
	for range 50 {
		rs.rtt("x", 100*time.Millisecond)
	}
	if d := rs.timeout("x"); d < 290*time.Millisecond || d > 300*time.Millisecond {
		t.Errorf("timeout for a steady ~100 ms %v, want ~3×", d)
	}
	// A round trip that varies widely gets srtt + 4 × rttvar.
	for i := range 50 {
		rs.rtt("jitter", time.Duration(10+80*(i%2))*time.Millisecond)
	}
	if d := rs.timeout("jitter"); d < 190*time.Millisecond || d > 260*time.Millisecond {
		t.Errorf("timeout for 10/90 ms alternating %v, want about 50 + 4 × 40 ms", d)
	}
	rs.rtt("far", 900*time.Millisecond)
	if d := rs.timeout("far"); d != time.Second {
		t.Errorf("timeout for 900 ms %v, want TimeoutMax", d)
	}

	rs.done("x", resultTimeout, 0, 0, now)
	if rs.usable("x", now.Add(time.Second)) || !rs.usable("x", now.Add(3*time.Second+1)) {
		t.Error("a timeout does not make the relay suspect for SuspectFor")
	}
	rs.done("x", resultUnreachable, 0, 0, now)
	rs.done("x", resultMiss, time.Millisecond, 10, now)
	if !rs.usable("x", now) {
		t.Error("an answer does not clear suspicion")
	}
	if rs.done("x", resultBadBytes, time.Millisecond, 5, now) || !rs.usable("x", now) {
		t.Error("excluded at the first of 2 strikes")
	}
	if !rs.done("x", resultBadBytes, time.Millisecond, 5, now) || rs.usable("x", now.Add(59*time.Second)) || !rs.usable("x", now.Add(61*time.Second)) {
		t.Error("not excluded for ExcludeFor at the second strike")
	}
	st := rs.stats(now)["x"]
	if st.Timeouts != 1 || st.Unreachable != 1 || st.Misses != 1 || st.BadBytes != 2 || !st.Excluded || st.BytesIn != 20 || st.Latency != 3*time.Millisecond {
		t.Errorf("stats %+v", st)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{NATSURLs: []string{"nats://127.0.0.1:4222"}}
	for _, tt := range []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"urls", func(*Config) {}, true},
		{"embedded", func(c *Config) {
			c.NATSURLs = nil
			c.Embedded = &EmbeddedConfig{ClusterListen: "127.0.0.1:0", Routes: []string{"nats-route://10.0.0.1:6222", "h:1"}}
		}, true},
		{"neither", func(c *Config) { c.NATSURLs = nil }, false},
		{"both", func(c *Config) { c.Embedded = &EmbeddedConfig{} }, false},
		{"routes without cluster", func(c *Config) { c.NATSURLs, c.Embedded = nil, &EmbeddedConfig{Routes: []string{"h:1"}} }, false},
		{"bad listen", func(c *Config) { c.NATSURLs, c.Embedded = nil, &EmbeddedConfig{Listen: "nope"} }, false},
		{"bad route", func(c *Config) {
			c.NATSURLs, c.Embedded = nil, &EmbeddedConfig{ClusterListen: ":0", Routes: []string{"nats-route://h"}}
		}, false},
		{"id with a dot", func(c *Config) { c.ID = "a.b" }, false},
		{"public URL not http", func(c *Config) { c.PublicURL = "ftp://x" }, false},
		{"public URL", func(c *Config) { c.PublicURL = "https://relay.example:8443" }, true},
		{"expiry under interval", func(c *Config) { c.AnnounceInterval, c.Expiry = time.Second, time.Second }, false},
		{"min over max", func(c *Config) { c.TimeoutMin, c.TimeoutMax = time.Second, time.Millisecond }, false},
		{"negative", func(c *Config) { c.Heartbeat = -1 }, false},
		{"announce interval too short", func(c *Config) { c.AnnounceInterval = time.Millisecond }, false},
		{"negative tries", func(c *Config) { c.Tries = -1 }, false},
		{"empty url", func(c *Config) { c.NATSURLs = []string{" "} }, false},
	} {
		c := ok
		tt.mod(&c)
		if err := c.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	d := ok.withDefaults()
	if validID(d.ID) != nil || d.Expiry != 3*time.Second || d.SuspectFor != d.Expiry || d.Tries != 2 || d.Strikes != 1 {
		t.Errorf("defaults %+v", d)
	}
}
