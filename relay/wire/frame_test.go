package wire

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	h := Sum([]byte("chunk"))
	big := bytes.Repeat([]byte{0xab}, MaxChunkData)
	tests := []Frame{
		{Type: TypeGetFile, ID: 1, Path: "images/cat.jpg"},
		{Type: TypeGetManifest, ID: 0xffffffff, Path: "a/b c/ü.png"},
		{Type: TypeGetChunk, ID: 7, Index: 3, Hash: h, Path: "x.bin"},
		{Type: TypeGetChunk, ID: 8, Index: 0, Hash: h},
		{Type: TypeCancel, ID: 9},
		{Type: TypePing, ID: 10, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{Type: TypePong, ID: 10, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{Type: TypeManifest, ID: 11, Total: 100, Offset: 0, Data: []byte(`{"v":1}`)},
		{Type: TypeChunk, ID: 12, Index: 2, Total: 65536, Offset: 0, Data: big},
		{Type: TypeChunk, ID: 12, Index: 2, Total: 65536, Offset: MaxChunkData, Data: big[:65536-MaxChunkData]},
		{Type: TypeChunk, ID: 15, Index: 1, Total: 3, Data: []byte("abc"), Source: SourceOrigin},
		{Type: TypeChunk, ID: 16, Index: 0, Total: 1, Data: []byte("z"), Source: 7}, // reserved, kept
		{Type: TypeError, ID: 13, Code: CodeNotFound, Message: "no such file"},
		{Type: TypeError, ID: 14, Code: CodeInternal},
	}
	for _, f := range tests {
		t.Run(f.Type.String(), func(t *testing.T) {
			b, err := AppendFrame(nil, &f)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > MaxMessageSize {
				t.Fatalf("encoded %d bytes, over %d", len(b), MaxMessageSize)
			}
			got, err := DecodeFrame(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Data) == 0 {
				got.Data = nil
			}
			if len(f.Data) == 0 {
				f.Data = nil
			}
			if !reflect.DeepEqual(got, f) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, f)
			}
		})
	}
}

func TestChunkHeaderMatchesAppendFrame(t *testing.T) {
	data := []byte("hello")
	for src := SourceUnspecified; src <= chunkSourceMask; src++ {
		a, err := AppendFrame(nil, &Frame{Type: TypeChunk, ID: 5, Index: 6, Total: 10, Offset: 5, Data: data, Source: src})
		if err != nil {
			t.Fatal(err)
		}
		b := append(AppendChunkHeader(nil, 5, 6, 10, 5, src), data...)
		if !bytes.Equal(a, b) {
			t.Fatalf("source %d: AppendChunkHeader = %x, AppendFrame = %x", src, b, a)
		}
		if a[2] != byte(src) {
			t.Fatalf("source %d: flags byte is 0x%02x", src, a[2])
		}
	}
}

// TestChunkSource: a CHUNK's flag bits 0-2 decode as its source, reserved
// values 5-7 included (not an error: a later relay may name more sources);
// bit 3 and up, the second flags byte, and any flag on another type are
// refused.
func TestChunkSource(t *testing.T) {
	chunk := func(flags byte) []byte {
		return []byte{FrameVersion, byte(TypeChunk), flags, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	}
	tests := []struct {
		flags byte
		want  ChunkSource
		known bool
		name  string
		bad   bool
	}{
		{0, SourceUnspecified, true, "unspecified", false},
		{1, SourceRelayCache, true, "relay_cache", false},
		{2, SourcePeer, true, "peer", false},
		{3, SourceOrigin, true, "origin", false},
		{4, SourceRelay, true, "relay", false},
		{5, 5, false, "source(5)", false},
		{7, 7, false, "source(7)", false},
		{0x08, 0, false, "", true},
		{0x0b, 0, false, "", true},
		{0x80, 0, false, "", true},
		{0xff, 0, false, "", true},
	}
	for _, tt := range tests {
		f, err := DecodeFrame(chunk(tt.flags))
		if tt.bad {
			if !errors.Is(err, ErrBadFrame) || !strings.Contains(err.Error(), "reserved flags") {
				t.Errorf("flags 0x%02x: err = %v, want reserved flags", tt.flags, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("flags 0x%02x: %v", tt.flags, err)
		}
		if f.Source != tt.want || f.Source.Known() != tt.known || f.Source.String() != tt.name {
			t.Errorf("flags 0x%02x: source %d (%s, known %v), want %d (%s, known %v)",
				tt.flags, f.Source, f.Source, f.Source.Known(), tt.want, tt.name, tt.known)
		}
	}
	for _, typ := range []FrameType{TypeGetFile, TypeGetChunk, TypeManifest, TypeError, TypeHave} {
		if _, err := DecodeFrame([]byte{FrameVersion, byte(typ), 1, 0, 0, 0, 0, 1, 'a', 'b'}); !errors.Is(err, ErrBadFrame) {
			t.Errorf("%s with source bits: err = %v, want ErrBadFrame", typ, err)
		}
	}
	b := chunk(byte(SourcePeer))
	b[3] = 1
	if _, err := DecodeFrame(b); !errors.Is(err, ErrBadFrame) {
		t.Errorf("CHUNK with the second flags byte set: err = %v, want ErrBadFrame", err)
	}
}

func TestDecodeFrameRejects(t *testing.T) {
	hdr := func(typ FrameType) []byte { return []byte{FrameVersion, byte(typ), 0, 0, 0, 0, 0, 42} }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	u32 := func(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
	tests := []struct {
		name   string
		b      []byte
		target error
		substr string
		id     uint32 // the id must survive a body error
	}{
		{"empty", nil, ErrBadFrame, "shorter than the 8-byte header", 0},
		{"short header", []byte{1, 1, 0}, ErrBadFrame, "shorter", 0},
		{"version 2", []byte{2, 1, 0, 0, 0, 0, 0, 1}, ErrVersion, "version 2", 0},
		{"flags set", []byte{1, 1, 0, 1, 0, 0, 0, 42, 'a'}, ErrBadFrame, "reserved flags", 42},
		{"unknown type", hdr(0x7f), ErrUnknownType, "0x7f", 42},
		{"empty path", hdr(TypeGetFile), ErrBadFrame, "empty path", 42},
		{"long path", cat(hdr(TypeGetFile), bytes.Repeat([]byte("a"), MaxPathLen+1)), ErrBadFrame, "longer than", 42},
		{"path not utf8", cat(hdr(TypeGetManifest), []byte{0xff, 0xfe}), ErrBadFrame, "UTF-8", 42},
		{"get chunk short", cat(hdr(TypeGetChunk), make([]byte, 35)), ErrBadFrame, "at least 36", 42},
		{"cancel with body", cat(hdr(TypeCancel), []byte{1}), ErrBadFrame, "body", 42},
		{"ping short", cat(hdr(TypePing), make([]byte, 7)), ErrBadFrame, "want 8", 42},
		{"manifest short", cat(hdr(TypeManifest), make([]byte, 7)), ErrBadFrame, "at least 8", 42},
		{"manifest outside total", cat(hdr(TypeManifest), u32(4), u32(2), []byte("abc")), ErrBadFrame, "outside", 42},
		{"manifest too long", cat(hdr(TypeManifest), u32(MaxManifestLen+1), u32(0)), ErrBadFrame, "over", 42},
		{"chunk outside total", cat(hdr(TypeChunk), u32(0), u32(3), u32(1), []byte("abc")), ErrBadFrame, "outside", 42},
		{"chunk total too big", cat(hdr(TypeChunk), u32(0), u32(65537), u32(0)), ErrBadFrame, "over", 42},
		{"chunk offset overflow", cat(hdr(TypeChunk), u32(0), u32(65536), u32(0xffffffff), []byte("x")), ErrBadFrame, "outside", 42},
		{"error short", cat(hdr(TypeError), []byte{1}), ErrBadFrame, "at least 2", 42},
		{"oversize message", cat(hdr(TypeChunk), make([]byte, MaxMessageSize)), ErrBadFrame, "over 65536", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := DecodeFrame(tt.b)
			if !errors.Is(err, tt.target) || !strings.Contains(err.Error(), tt.substr) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.target, tt.substr)
			}
			if f.ID != tt.id {
				t.Errorf("id = %d, want %d", f.ID, tt.id)
			}
		})
	}
}

func TestAppendFrameRejects(t *testing.T) {
	for _, f := range []Frame{
		{Type: TypeGetFile},
		{Type: TypePing, Data: []byte{1}},
		{Type: TypeChunk, Total: 1, Data: []byte("ab")},
		{Type: TypeChunk, Total: 1, Data: []byte("a"), Source: 8},
		{Type: TypeManifest, Total: 1, Data: []byte("a"), Source: SourceOrigin},
		{Type: TypeGetFile, Path: "a", Source: SourceRelayCache},
		{Type: TypeError, Message: strings.Repeat("x", MaxErrorMessageLen+1)},
		{Type: 0x55},
	} {
		if _, err := AppendFrame(nil, &f); err == nil {
			t.Errorf("AppendFrame(%+v) succeeded", f)
		}
	}
}

// FuzzDecodeFrame checks that the decoder never panics, never reads a
// fragment outside its declared total, and that what decodes re-encodes to
// the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	h := Sum(nil)
	for _, fr := range []Frame{
		{Type: TypeGetFile, ID: 1, Path: "images/cat.jpg"},
		{Type: TypeGetChunk, ID: 2, Index: 9, Hash: h, Path: "a.png"},
		{Type: TypePing, ID: 3, Data: make([]byte, 8)},
		{Type: TypeManifest, ID: 4, Total: 10, Offset: 3, Data: []byte("abc")},
		{Type: TypeChunk, ID: 5, Index: 1, Total: 4, Offset: 2, Data: []byte("zz")},
		{Type: TypeChunk, ID: 8, Index: 0, Total: 2, Data: []byte("zz"), Source: SourcePeer},
		{Type: TypeError, ID: 6, Code: CodeStale, Message: "changed"},
		{Type: TypeCancel, ID: 7},
	} {
		b, err := AppendFrame(nil, &fr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0x11, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		if err != nil {
			return
		}
		if (fr.Type == TypeChunk || fr.Type == TypeManifest) && uint64(fr.Offset)+uint64(len(fr.Data)) > uint64(fr.Total) {
			t.Fatalf("fragment %d+%d outside %d accepted", fr.Offset, len(fr.Data), fr.Total)
		}
		out, err := AppendFrame(nil, &fr)
		if err != nil {
			t.Fatalf("decoded frame does not re-encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, out)
		}
	})
}

func BenchmarkChunkFrameEncode(b *testing.B) {
	data := bytes.Repeat([]byte{7}, MaxChunkData)
	buf := make([]byte, 0, MaxMessageSize)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		buf = append(AppendChunkHeader(buf[:0], 1, 2, MaxChunkData, 0, SourceRelayCache), data...)
	}
}

func BenchmarkChunkFrameDecode(b *testing.B) {
	data := bytes.Repeat([]byte{7}, MaxChunkData)
	msg := append(AppendChunkHeader(nil, 1, 2, MaxChunkData, 0, SourceRelayCache), data...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFrame(msg); err != nil {
			b.Fatal(err)
		}
	}
}
