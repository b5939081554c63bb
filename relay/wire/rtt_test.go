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
