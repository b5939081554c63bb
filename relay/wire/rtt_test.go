package wire

import (
	"testing"
	"time"
)

func TestRTTEstimator(t *testing.T) {
	var e RTTEstimator
	if got := e.Get(); got.Samples != 0 || got.SRTT != 0 {
		t.Fatalf("empty estimator = %+v", got)
	}
	e.Add(100 * time.Millisecond)
	if got := e.Get(); got.SRTT != 100*time.Millisecond || got.RTTVar != 50*time.Millisecond {
		t.Fatalf("after one sample = %+v, want SRTT 100, RTTVAR 50", got)
	}
	for range 200 {
		e.Add(20 * time.Millisecond)
	}
	got := e.Get()
	if got.SRTT < 19*time.Millisecond || got.SRTT > 21*time.Millisecond || got.Samples != 201 || got.Last != 20*time.Millisecond {
		t.Fatalf("after converging = %+v, want SRTT ≈ 20", got)
	}
	if got.Timeout() < got.SRTT {
		t.Fatalf("timeout %v below SRTT %v", got.Timeout(), got.SRTT)
	}
	e.Add(-5) // ignored
	if e.Get().Samples != 201 {
		t.Fatal("negative sample counted")
	}
}

func TestRTTEstimatorMin(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var e RTTEstimator
	if got := e.Get().Min; got != 0 {
		t.Fatalf("empty: Min %v", got)
	}
	tests := []struct {
		sample, wantMin time.Duration
	}{
		{ms(240), ms(240)}, // a peer busy uploading: its PONGs queue behind chunks
		{ms(300), ms(240)},
		{ms(5), ms(5)}, // idle again: Min follows at once
		{ms(9), ms(5)},
		{ms(7), ms(5)},
		{ms(8), ms(5)},
		{ms(6), ms(5)},
		{ms(9), ms(5)},
		{ms(10), ms(5)},
		{ms(8), ms(5)},  // the 5 ms sample is the 8th-last
		{ms(12), ms(6)}, // … and now it is out of the window
	}
	for i, tt := range tests {
		e.Add(tt.sample)
		got := e.Get()
		if got.Min != tt.wantMin {
			t.Errorf("sample %d (%v): Min %v, want %v", i, tt.sample, got.Min, tt.wantMin)
		}
		if got.Min > got.Last {
			t.Errorf("sample %d: Min %v above the last sample %v", i, got.Min, got.Last)
		}
	}
	if got := e.Get(); got.SRTT < ms(40) {
		t.Errorf("SRTT %v: it should still carry the busy samples (what Min is for)", got.SRTT)
	}
}
