package relay

import (
	"bytes"
	"testing"

	"github.com/p2pcache/p2pcache/relay/wire"
)

// chunkFrames splits b into the CHUNK frames a peer answers request id with.
func chunkFrames(id uint32, b []byte) []wire.Frame {
	var fs []wire.Frame
	for off := 0; off < len(b); off += wire.MaxChunkData {
		end := min(off+wire.MaxChunkData, len(b))
		fs = append(fs, wire.Frame{Type: wire.TypeChunk, ID: id, Total: uint32(len(b)), Offset: uint32(off), Data: b[off:end]})
	}
	return fs
}

// TestPullIgnoresLateFrames: once a pull has its whole chunk, frames that
// come after it (a duplicate answer, a late fragment) change nothing: the
// buffer handed on for verification and to the cache stays as it was.
func TestPullIgnoresLateFrames(t *testing.T) {
	good := bytes.Repeat([]byte{0xaa}, wire.MaxChunkSize)
	bad := bytes.Repeat([]byte{0x55}, wire.MaxChunkSize)
	for _, tt := range []struct {
		name string
		late []wire.Frame
	}{
		{"duplicate answer", chunkFrames(7, bad)},
		{"late first fragment", chunkFrames(7, bad)[:1]},
		{"late error", []wire.Frame{{Type: wire.TypeError, ID: 7, Code: wire.CodeBusy}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPull(len(good), viaDC)
			for _, f := range chunkFrames(7, good) {
				p.onFrame(viaDC, &f)
			}
			<-p.done
			if p.err != nil {
				t.Fatal(p.err)
			}
			got := p.buf
			for _, f := range tt.late {
				p.onFrame(viaDC, &f)
			}
			if !bytes.Equal(got, good) || p.err != nil {
				t.Errorf("after a late frame: buffer changed (%v), err %v", !bytes.Equal(got, good), p.err)
			}
		})
	}
}

// TestPullOneTransport: a pull takes its answer from the transport its
// request went out on; frames for the same id on the other one are
// ignored, before and after the answer completes.
func TestPullOneTransport(t *testing.T) {
	good := bytes.Repeat([]byte{0xaa}, wire.MaxChunkSize)
	bad := bytes.Repeat([]byte{0x55}, wire.MaxChunkSize)
	p := newPull(len(good), viaDC)
	fs := chunkFrames(3, good)
	p.onFrame(viaDC, &fs[0])
	for _, f := range chunkFrames(3, bad) { // the WebSocket rung, meanwhile
		p.onFrame(viaWS, &f)
	}
	select {
	case <-p.done:
		t.Fatalf("a pull sent on the data channel completed from the WebSocket: %v", p.err)
	default:
	}
	for _, f := range fs[1:] {
		p.onFrame(viaDC, &f)
	}
	<-p.done
	if p.err != nil || !bytes.Equal(p.buf, good) {
		t.Fatalf("err %v, bytes equal %v", p.err, bytes.Equal(p.buf, good))
	}
}
