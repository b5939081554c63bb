package wire_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/p2pcache/p2pcache/relay/wire"
)

func ExampleAppendFrame() {
	b, err := wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeGetFile, ID: 7, Path: "images/cat.jpg"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% x\n", b[:wire.HeaderLen])
	fmt.Printf("%q\n", b[wire.HeaderLen:])

	// A frame that would not decode is refused before it is sent.
	_, err = wire.AppendFrame(nil, &wire.Frame{Type: wire.TypePing, Data: []byte("short")})
	fmt.Println(errors.Is(err, wire.ErrBadFrame))
	// Output:
	// 01 01 00 00 00 00 00 07
	// "images/cat.jpg"
	// true
}

func ExampleDecodeFrame() {
	msg := []byte{
		1, 0x11, 0, 0, 0, 0, 0, 7, // version 1, CHUNK, no flags, request id 7
		0, 0, 0, 2, // index 2
		0, 0, 0, 5, // total: the chunk is 5 bytes
		0, 0, 0, 3, // offset: this fragment starts at byte 3
		'l', 'o',
	}
	f, err := wire.DecodeFrame(msg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Type, f.ID, f.Index, f.Total, f.Offset, string(f.Data))

	// A body error still reports the type and id, so the receiver can
	// answer the request with an ERROR.
	f, err = wire.DecodeFrame([]byte{1, 0x04, 0, 0, 0, 0, 0, 9, 0xff})
	fmt.Println(f.Type, f.ID, errors.Is(err, wire.ErrBadFrame))
	// Output:
	// CHUNK 7 2 5 3 lo
	// CANCEL 9 true
}

func ExampleParseManifest() {
	data := []byte("hello, world")
	m := &wire.Manifest{
		Version: wire.ManifestVersion, Path: "greeting.txt", Size: int64(len(data)),
		ContentType: "text/plain", ChunkSize: 5, SHA256: wire.Sum(data),
	}
	for i := 0; i < len(data); i += m.ChunkSize {
		m.Chunks = append(m.Chunks, wire.Sum(data[i:min(i+m.ChunkSize, len(data))]))
	}
	m.ETag = wire.ETagFor(m.SHA256)
	j, err := json.Marshal(m)
	if err != nil {
		fmt.Println(err)
		return
	}

	got, err := wire.ParseManifest(j)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range got.Chunks {
		fmt.Printf("chunk %d: bytes %d..%d\n", i, got.ChunkOffset(i), got.ChunkOffset(i)+int64(got.ChunkLen(i)))
	}

	// A manifest whose etag does not name its bytes is refused.
	_, err = wire.ParseManifest([]byte(`{"v":1,"path":"a","size":0,"etag":"\"x\"","chunkSize":1,"sha256":"` +
		wire.Sum(nil).String() + `","chunks":[]}`))
	fmt.Println(errors.Is(err, wire.ErrBadManifest))
	// Output:
	// chunk 0: bytes 0..5
	// chunk 1: bytes 5..10
	// chunk 2: bytes 10..12
	// true
}
