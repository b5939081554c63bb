package wire

import "fmt"

// ChunkSource says where the relay got the bytes of a CHUNK frame: bits 0-2
// of the header's first flags byte (byte 2). It is informational: the
// receiver verifies the chunk against its hash whatever the source, and a
// peer uses it only to count where its bytes came from (the SDK's
// stats().bySource). Every other flag bit, and every flag bit of the other
// frame types, is reserved and must be zero.
//
// Values 5-7 are reserved for sources a later relay may name; a receiver
// decodes them (Frame.Source holds the value, so the frame re-encodes as
// it was) and treats them as SourceUnspecified, never as a bad frame (Known
// tells them apart). PROTOCOL.md §2, "Chunk source".
type ChunkSource uint8

// Chunk sources.
const (
	// SourceUnspecified: the sender does not say (a relay that predates
	// sources, or a peer answering the relay's GET_CHUNK).
	SourceUnspecified ChunkSource = 0
	// SourceRelayCache: the relay's own chunk cache.
	SourceRelayCache ChunkSource = 1
	// SourcePeer: pulled from another peer that announced it with HAVE.
	SourcePeer ChunkSource = 2
	// SourceOrigin: fetched from the origin for this request (a miss).
	SourceOrigin ChunkSource = 3
	// SourceRelay: another relay of the same cluster.
	SourceRelay ChunkSource = 4

	// chunkSourceMask is the flag bits a CHUNK's source takes.
	chunkSourceMask = 0x07
)

// Known reports whether s is one of the sources above; 5-7 are not, and
// mean what SourceUnspecified means.
func (s ChunkSource) Known() bool { return s <= SourceRelay }

func (s ChunkSource) String() string {
	switch s {
	case SourceUnspecified:
		return "unspecified"
	case SourceRelayCache:
		return "relay_cache"
	case SourcePeer:
		return "peer"
	case SourceOrigin:
		return "origin"
	case SourceRelay:
		return "relay"
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}
