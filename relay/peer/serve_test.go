package peer

import (
	"bytes"
	"io"
	"log/slog"
	"testing"

	"github.com/p2pcache/p2pcache/cache"
)

// TestHoldCopiesOncePerChunk: hold keeps a copy of each chunk of its own
// (the caller's buffer is not pinned, and an evicted chunk frees its bytes),
// and a chunk already held is not copied again when its file is fetched
// again.
func TestHoldCopiesOncePerChunk(t *testing.T) {
	const cs = 100
	data := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), 10) // 360 bytes, 4 chunks
	m := testManifest("/f", data, cs)
	held, err := cache.NewChunkLRU(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	p := &Peer{held: held, log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	buf := bytes.Clone(data)
	p.hold(m, buf)
	first := make([][]byte, len(m.Chunks))
	for i, h := range m.Chunks {
		b, ok := held.Get(h)
		off := m.ChunkOffset(i)
		switch {
		case !ok:
			t.Fatalf("chunk %d not held", i)
		case !bytes.Equal(b, data[off:off+int64(m.ChunkLen(i))]):
			t.Fatalf("chunk %d held as %q", i, b)
		case cap(b) >= len(data):
			t.Errorf("chunk %d: capacity %d for %d bytes: it pins the whole file", i, cap(b), m.ChunkLen(i))
		}
		first[i] = b
	}
	clear(buf) // the caller reuses its buffer
	for i, h := range m.Chunks {
		if b, _ := held.Get(h); !bytes.Equal(b, first[i]) || b[0] == 0 {
			t.Fatalf("chunk %d changed with the caller's buffer", i)
		}
	}

	p.hold(m, bytes.Clone(data)) // the same file fetched again
	for i, h := range m.Chunks {
		if b, _ := held.Get(h); &b[0] != &first[i][0] {
			t.Errorf("chunk %d copied again although held", i)
		}
	}
	if got, want := held.Bytes(), int64(len(data)); got != want {
		t.Errorf("held %d bytes, want %d", got, want)
	}
}
