package cache

import (
	"net/http"
	"testing"
	"time"
)

func TestFreshness(t *testing.T) {
	now := time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name string
		h    map[string][]string
		want time.Duration
	}{
		{"none", nil, 0},
		{"max-age", map[string][]string{"Cache-Control": {"max-age=60"}}, time.Minute},
		{"max-age, public", map[string][]string{"Cache-Control": {"public, max-age=3600"}}, time.Hour},
		{"max-age uppercase", map[string][]string{"Cache-Control": {"Max-Age=60"}}, time.Minute},
		{"max-age quoted", map[string][]string{"Cache-Control": {`max-age="60"`}}, time.Minute},
		{"max-age spaces", map[string][]string{"Cache-Control": {" must-revalidate ,  max-age=60 "}}, time.Minute},
		{"max-age=0", map[string][]string{"Cache-Control": {"max-age=0"}}, 0},
		{"max-age invalid", map[string][]string{"Cache-Control": {"max-age=soon"}}, 0},
		{"max-age negative", map[string][]string{"Cache-Control": {"max-age=-5"}}, 0},
		{"max-age huge is capped, not dropped", map[string][]string{"Cache-Control": {"max-age=99999999999999999999"}}, time.Duration(1<<63 - 1).Truncate(time.Second)},
		{"max-age in a second field", map[string][]string{"Cache-Control": {"public", "max-age=60"}}, time.Minute},
		{"s-maxage over max-age", map[string][]string{"Cache-Control": {"max-age=60, s-maxage=600"}}, 10 * time.Minute},
		{"s-maxage over max-age, other order", map[string][]string{"Cache-Control": {"s-maxage=600, max-age=60"}}, 10 * time.Minute},
		{"s-maxage shorter than max-age", map[string][]string{"Cache-Control": {"max-age=600, s-maxage=6"}}, 6 * time.Second},
		{"s-maxage=0 over max-age", map[string][]string{"Cache-Control": {"max-age=600, s-maxage=0"}}, 0},
		{"no-store", map[string][]string{"Cache-Control": {"no-store, max-age=600"}}, 0},
		{"no-cache", map[string][]string{"Cache-Control": {"max-age=600, no-cache"}}, 0},
		{"no-cache with fields", map[string][]string{"Cache-Control": {`no-cache="Set-Cookie", max-age=600`}}, 0},
		{"private", map[string][]string{"Cache-Control": {"private, max-age=600"}}, 0},
		{"private in a second field", map[string][]string{"Cache-Control": {"max-age=600", "private"}}, 0},
		{"no-store overrides Expires", map[string][]string{"Cache-Control": {"no-store"}, "Expires": {date(time.Hour)}}, 0},
		{"Age subtracted", map[string][]string{"Cache-Control": {"max-age=600"}, "Age": {"100"}}, 500 * time.Second},
		{"Age over max-age", map[string][]string{"Cache-Control": {"max-age=600"}, "Age": {"700"}}, 0},
		{"Age invalid ignored", map[string][]string{"Cache-Control": {"max-age=600"}, "Age": {"old"}}, 10 * time.Minute},
		{"Expires - Date", map[string][]string{"Date": {date(0)}, "Expires": {date(2 * time.Hour)}}, 2 * time.Hour},
		{"Expires - Date, Date not now", map[string][]string{"Date": {date(-time.Hour)}, "Expires": {date(30 * time.Minute)}}, 90 * time.Minute},
		{"Expires without Date: now", map[string][]string{"Expires": {date(time.Hour)}}, time.Hour},
		{"Expires - Date - Age", map[string][]string{"Date": {date(0)}, "Expires": {date(time.Hour)}, "Age": {"600"}}, 50 * time.Minute},
		{"Expires in the past", map[string][]string{"Date": {date(0)}, "Expires": {date(-time.Hour)}}, 0},
		{"Expires invalid", map[string][]string{"Date": {date(0)}, "Expires": {"0"}}, 0},
		{"Expires invalid, with Last-Modified", map[string][]string{"Expires": {"-1"}, "Last-Modified": {date(-100 * time.Hour)}}, 0},
		{"max-age over Expires", map[string][]string{"Cache-Control": {"max-age=60"}, "Date": {date(0)}, "Expires": {date(time.Hour)}}, time.Minute},
		{"max-age over invalid Expires", map[string][]string{"Cache-Control": {"max-age=60"}, "Expires": {"0"}}, time.Minute},
		{"heuristic: 10% of Last-Modified age", map[string][]string{"Date": {date(0)}, "Last-Modified": {date(-5 * time.Hour)}}, 30 * time.Minute},
		{"heuristic without Date: now", map[string][]string{"Last-Modified": {date(-5 * time.Hour)}}, 30 * time.Minute},
		{"heuristic capped at 1h", map[string][]string{"Date": {date(0)}, "Last-Modified": {date(-100 * time.Hour)}}, time.Hour},
		{"heuristic less Age", map[string][]string{"Date": {date(0)}, "Last-Modified": {date(-5 * time.Hour)}, "Age": {"60"}}, 29 * time.Minute},
		{"heuristic, Last-Modified in the future", map[string][]string{"Date": {date(0)}, "Last-Modified": {date(time.Hour)}}, 0},
		{"heuristic, Last-Modified invalid", map[string][]string{"Last-Modified": {"yesterday"}}, 0},
		{"unrelated directives", map[string][]string{"Cache-Control": {"public, must-revalidate"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, vs := range tt.h {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
			if got := freshness(h, now); got != tt.want {
				t.Errorf("freshness(%v) = %v, want %v", h, got, tt.want)
			}
		})
	}
}

func TestParseSeconds(t *testing.T) {
	max := time.Duration(1<<63 - 1).Truncate(time.Second)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"1", time.Second},
		{" 60 ", time.Minute},
		{`"60"`, time.Minute},
		{"9223372036", 9223372036 * time.Second},
		{"9223372037", max},                    // more seconds than a Duration holds
		{"9223372036854775807", max},           // the largest int64
		{"99999999999999999999999999999", max}, // RFC 9111 §1.2.2: too large means the largest
		{"", -1},
		{"-1", -1},
		{"1.5", -1},
		{"1e3", -1},
		{"sixty", -1},
	}
	for _, tt := range tests {
		if got := parseSeconds(tt.in); got != tt.want {
			t.Errorf("parseSeconds(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
