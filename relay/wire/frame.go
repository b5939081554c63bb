package wire

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Frame constants. PROTOCOL.md §2 is the reference; this file is the
// implementation.
const (
	// FrameVersion is the first byte of every frame.
	FrameVersion = 1
	// MaxMessageSize is the largest frame: the browser-safe data-channel
	// message size. A chunk of up to 64 KiB therefore travels as two CHUNK
	// frames when it does not fit beside its header.
	MaxMessageSize = 64 << 10
	// HeaderLen is the common header: version, type, flags (two bytes),
	// request id. The flags are zero but for a CHUNK's source (ChunkSource).
	HeaderLen = 8
	// MaxErrorMessageLen bounds an ERROR frame's text.
	MaxErrorMessageLen = 1024
	// MaxManifestLen bounds a MANIFEST's JSON (16 MiB: a file of ~16 GiB in
	// 64 KiB chunks).
	MaxManifestLen = 16 << 20
	// PingLen is the payload length of PING and PONG.
	PingLen = 8

	chunkHeaderLen    = HeaderLen + 12
	manifestHeaderLen = HeaderLen + 8
	// MaxChunkData is the most chunk bytes one CHUNK frame carries.
	MaxChunkData = MaxMessageSize - chunkHeaderLen
	// MaxManifestData is the most manifest bytes one MANIFEST frame carries.
	MaxManifestData = MaxMessageSize - manifestHeaderLen
)

// FrameType is a frame's second byte.
type FrameType uint8

// Frame types: requests (0x01–0x0f) and answers (0x10–0x1f). Either side
// may send any of them; answers carry the id of the request they answer.
const (
	TypeGetFile     FrameType = 0x01 // path → MANIFEST, then every CHUNK in order
	TypeGetManifest FrameType = 0x02 // path → MANIFEST
	TypeGetChunk    FrameType = 0x03 // index, hash, path (may be empty) → CHUNK
	TypeCancel      FrameType = 0x04 // stop answering request id
	TypePing        FrameType = 0x05 // 8 opaque bytes → PONG with the same bytes
	TypePong        FrameType = 0x06
	TypeHave        FrameType = 0x07 // peer → relay: which chunks of a file version it holds
	TypeManifest    FrameType = 0x10 // total, offset, JSON fragment
	TypeChunk       FrameType = 0x11 // index, total, offset, bytes
	TypeError       FrameType = 0x12 // code, message
)

func (t FrameType) String() string {
	switch t {
	case TypeGetFile:
		return "GET_FILE"
	case TypeGetManifest:
		return "GET_MANIFEST"
	case TypeGetChunk:
		return "GET_CHUNK"
	case TypeCancel:
		return "CANCEL"
	case TypePing:
		return "PING"
	case TypePong:
		return "PONG"
	case TypeHave:
		return "HAVE"
	case TypeManifest:
		return "MANIFEST"
	case TypeChunk:
		return "CHUNK"
	case TypeError:
		return "ERROR"
	}
	return fmt.Sprintf("TYPE_0x%02x", uint8(t))
}

// Frame is one decoded wire message. Which fields are set depends on Type;
// Data aliases the buffer it was decoded from.
type Frame struct {
	Type FrameType
	ID   uint32
	// Path: GET_FILE, GET_MANIFEST, GET_CHUNK (empty: by hash alone).
	Path string
	// Index: GET_CHUNK, CHUNK.
	Index uint32
	// Hash: GET_CHUNK (the chunk), HAVE (the file version's whole-file hash).
	Hash Hash
	// Count, Bitmap: HAVE: the file's chunk count and one bit per chunk
	// (chunk i is bit i%8 of byte i/8, least significant first).
	Count  uint32
	Bitmap []byte
	// Total, Offset: CHUNK (chunk length, where Data starts in it) and
	// MANIFEST (JSON length, where Data starts in it).
	Total, Offset uint32
	// Source: CHUNK: where the sender got the chunk (flag bits 0-2).
	Source ChunkSource
	// Data: CHUNK and MANIFEST bytes, PING and PONG payload.
	Data []byte
	// Code, Message: ERROR.
	Code    ErrorCode
	Message string
}

// AppendFrame appends f's encoding to dst. It returns an error wrapping
// ErrBadFrame if f would not decode.
func AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	if err := f.validate(); err != nil {
		return dst, err
	}
	dst = append(dst, FrameVersion, byte(f.Type), byte(f.Source), 0)
	dst = binary.BigEndian.AppendUint32(dst, f.ID)
	switch f.Type {
	case TypeGetFile, TypeGetManifest:
		dst = append(dst, f.Path...)
	case TypeGetChunk:
		dst = binary.BigEndian.AppendUint32(dst, f.Index)
		dst = append(dst, f.Hash[:]...)
		dst = append(dst, f.Path...)
	case TypeCancel:
	case TypePing, TypePong:
		dst = append(dst, f.Data...)
	case TypeHave:
		dst = append(dst, f.Hash[:]...)
		dst = binary.BigEndian.AppendUint32(dst, f.Count)
		dst = append(dst, f.Bitmap...)
		dst = append(dst, f.Path...)
	case TypeManifest:
		dst = binary.BigEndian.AppendUint32(dst, f.Total)
		dst = binary.BigEndian.AppendUint32(dst, f.Offset)
		dst = append(dst, f.Data...)
	case TypeChunk:
		dst = binary.BigEndian.AppendUint32(dst, f.Index)
		dst = binary.BigEndian.AppendUint32(dst, f.Total)
		dst = binary.BigEndian.AppendUint32(dst, f.Offset)
		dst = append(dst, f.Data...)
	case TypeError:
		dst = binary.BigEndian.AppendUint16(dst, uint16(f.Code))
		dst = append(dst, f.Message...)
	}
	return dst, nil
}

// AppendChunkHeader appends the header of a CHUNK frame whose data (n bytes)
// the caller appends next; it is AppendFrame without the copy checks, for
// the send path. The caller guarantees offset+n <= total <= MaxChunkSize,
// n <= MaxChunkData and src <= 7.
func AppendChunkHeader(dst []byte, id, index, total, offset uint32, src ChunkSource) []byte {
	dst = append(dst, FrameVersion, byte(TypeChunk), byte(src), 0)
	dst = binary.BigEndian.AppendUint32(dst, id)
	dst = binary.BigEndian.AppendUint32(dst, index)
	dst = binary.BigEndian.AppendUint32(dst, total)
	return binary.BigEndian.AppendUint32(dst, offset)
}

func (f *Frame) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadFrame, f.Type, fmt.Sprintf(format, args...))
	}
	if f.Source != SourceUnspecified && f.Type != TypeChunk {
		return bad("only CHUNK frames carry a source")
	}
	if f.Source > chunkSourceMask {
		return bad("source %d is not 0-%d", f.Source, chunkSourceMask)
	}
	switch f.Type {
	case TypeGetFile, TypeGetManifest:
		if f.Path == "" {
			return bad("empty path")
		}
		fallthrough
	case TypeHave:
		if f.Path == "" {
			return bad("empty path")
		}
		if len(f.Bitmap) != int((uint64(f.Count)+7)/8) {
			return bad("bitmap is %d bytes for %d chunks", len(f.Bitmap), f.Count)
		}
		if rest := f.Count % 8; rest != 0 && f.Bitmap[len(f.Bitmap)-1]>>rest != 0 {
			return bad("bits set past chunk %d", f.Count)
		}
		fallthrough
	case TypeGetChunk:
		if len(f.Path) > MaxPathLen {
			return bad("path longer than %d bytes", MaxPathLen)
		}
		if !utf8.ValidString(f.Path) {
			return bad("path is not UTF-8")
		}
	case TypeCancel:
	case TypePing, TypePong:
		if len(f.Data) != PingLen {
			return bad("payload is %d bytes, want %d", len(f.Data), PingLen)
		}
	case TypeManifest:
		if f.Total > MaxManifestLen {
			return bad("manifest length %d over %d", f.Total, MaxManifestLen)
		}
		if len(f.Data) > MaxManifestData || uint64(f.Offset)+uint64(len(f.Data)) > uint64(f.Total) {
			return bad("fragment %d+%d outside length %d", f.Offset, len(f.Data), f.Total)
		}
	case TypeChunk:
		if f.Total > MaxChunkSize {
			return bad("chunk length %d over %d", f.Total, MaxChunkSize)
		}
		if len(f.Data) > MaxChunkData || uint64(f.Offset)+uint64(len(f.Data)) > uint64(f.Total) {
			return bad("fragment %d+%d outside length %d", f.Offset, len(f.Data), f.Total)
		}
	case TypeError:
		if len(f.Message) > MaxErrorMessageLen || !utf8.ValidString(f.Message) {
			return bad("message not UTF-8 of at most %d bytes", MaxErrorMessageLen)
		}
	default:
		return fmt.Errorf("%w: type 0x%02x", ErrUnknownType, uint8(f.Type))
	}
	return nil
}

// DecodeFrame decodes one message. The frame's Data aliases b. Errors wrap
// ErrBadFrame, ErrUnknownType or ErrVersion; a frame with a known header but
// a bad body still returns its Type and ID, so the receiver can answer the
// request with an ERROR.
func DecodeFrame(b []byte) (Frame, error) {
	var f Frame
	if len(b) < HeaderLen {
		return f, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrBadFrame, len(b), HeaderLen)
	}
	if len(b) > MaxMessageSize {
		return f, fmt.Errorf("%w: %d bytes, over %d", ErrBadFrame, len(b), MaxMessageSize)
	}
	if b[0] != FrameVersion {
		return f, fmt.Errorf("%w: version %d, want %d", ErrVersion, b[0], FrameVersion)
	}
	f.Type = FrameType(b[1])
	f.ID = binary.BigEndian.Uint32(b[4:8])
	// A CHUNK may carry its source in bits 0-2 of byte 2; every other flag
	// bit is reserved.
	allowed := byte(0)
	if f.Type == TypeChunk {
		allowed = chunkSourceMask
	}
	if b[2]&^allowed != 0 || b[3] != 0 {
		return f, fmt.Errorf("%w: %s: reserved flags 0x%02x%02x set", ErrBadFrame, f.Type, b[2], b[3])
	}
	body := b[HeaderLen:]
	need := func(n int) error {
		if len(body) < n {
			return fmt.Errorf("%w: %s: body is %d bytes, want at least %d", ErrBadFrame, f.Type, len(body), n)
		}
		return nil
	}
	switch f.Type {
	case TypeGetFile, TypeGetManifest:
		f.Path = string(body)
	case TypeGetChunk:
		if err := need(36); err != nil {
			return f, err
		}
		f.Index = binary.BigEndian.Uint32(body)
		copy(f.Hash[:], body[4:36])
		f.Path = string(body[36:])
	case TypeHave:
		if err := need(36); err != nil {
			return f, err
		}
		copy(f.Hash[:], body)
		f.Count = binary.BigEndian.Uint32(body[32:])
		n := (uint64(f.Count) + 7) / 8
		if uint64(len(body)-36) < n {
			return f, fmt.Errorf("%w: HAVE: bitmap for %d chunks needs %d bytes, body has %d", ErrBadFrame, f.Count, n, len(body)-36)
		}
		f.Bitmap = body[36 : 36+n]
		f.Path = string(body[36+n:])
	case TypeCancel:
		if len(body) != 0 {
			return f, fmt.Errorf("%w: CANCEL has a %d-byte body", ErrBadFrame, len(body))
		}
	case TypePing, TypePong:
		f.Data = body
	case TypeManifest:
		if err := need(8); err != nil {
			return f, err
		}
		f.Total = binary.BigEndian.Uint32(body)
		f.Offset = binary.BigEndian.Uint32(body[4:])
		f.Data = body[8:]
	case TypeChunk:
		if err := need(12); err != nil {
			return f, err
		}
		f.Index = binary.BigEndian.Uint32(body)
		f.Total = binary.BigEndian.Uint32(body[4:])
		f.Offset = binary.BigEndian.Uint32(body[8:])
		f.Data = body[12:]
		f.Source = ChunkSource(b[2])
	case TypeError:
		if err := need(2); err != nil {
			return f, err
		}
		f.Code = ErrorCode(binary.BigEndian.Uint16(body))
		f.Message = string(body[2:])
	}
	return f, f.validate()
}
