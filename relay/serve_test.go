package relay

import (
	"context"
	"fmt"
	"testing"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// TestErrorCode: each error a request can end with maps to its wire code.
// A memory budget that could not be had in time wraps the deadline too: it
// is busy (retry later), not an origin failure.
func TestErrorCode(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want wire.ErrorCode
	}{
		{context.Canceled, wire.CodeCancelled},
		{fmt.Errorf("x: %w", errForbidden), wire.CodeForbidden},
		{cache.ErrNotFound, wire.CodeNotFound},
		{cache.ErrBadPath, wire.CodeBadPath},
		{cache.ErrStale, wire.CodeStale},
		{cache.ErrTooLarge, wire.CodeTooLarge},
		{cache.ErrUnknownChunk, wire.CodeUnknown},
		{cache.ErrBadIndex, wire.CodeBadRequest},
		{cache.ErrOrigin, wire.CodeOrigin},
		{context.DeadlineExceeded, wire.CodeOrigin},
		{cache.ErrMemoryBudget, wire.CodeBusy},
		{fmt.Errorf("%w: waited: %w", cache.ErrMemoryBudget, context.DeadlineExceeded), wire.CodeBusy},
		{fmt.Errorf("boom"), wire.CodeInternal},
	} {
		if got := errorCode(tt.err); got != tt.want {
			t.Errorf("errorCode(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

// TestWireSource: each cache source maps to its CHUNK flags value (the two
// numberings differ: the wire's 0 is "unspecified").
func TestWireSource(t *testing.T) {
	for _, tt := range []struct {
		src  cache.Source
		want wire.ChunkSource
	}{
		{cache.SourceCache, wire.SourceRelayCache},
		{cache.SourceOrigin, wire.SourceOrigin},
		{cache.SourcePeer, wire.SourcePeer},
		{cache.SourceRelay, wire.SourceRelay},
		{cache.Source(200), wire.SourceUnspecified},
	} {
		if got := wireSource(tt.src); got != tt.want {
			t.Errorf("wireSource(%s) = %s, want %s", tt.src, got, tt.want)
		}
	}
}
