package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// ManifestVersion is the manifest format version written in the "v" field.
const ManifestVersion = 1

// MaxChunkSize is the largest chunk: the browser-safe data-channel message size.
const MaxChunkSize = 64 << 10

// Manifest describes one version of one file: its size, type, and the SHA-256
// of every chunk and of the whole. It is immutable once built; a changed file
// gets a new Manifest.
type Manifest struct {
	Version      int       `json:"v"`
	Path         string    `json:"path"`
	Size         int64     `json:"size"`
	ContentType  string    `json:"contentType"`
	ETag         string    `json:"etag"`
	LastModified time.Time `json:"lastModified,omitzero"`
	ChunkSize    int       `json:"chunkSize"`
	SHA256       Hash      `json:"sha256"`
	Chunks       []Hash    `json:"chunks"`
}

// ETagFor is the relay's strong entity tag for content with whole-file hash h.
// It depends on the bytes only, so every relay gives the same file the same tag.
func ETagFor(h Hash) string { return `"` + h.String() + `"` }

// NumChunks is the chunk count of a file of size bytes.
func NumChunks(size int64, chunkSize int) int {
	return int((size + int64(chunkSize) - 1) / int64(chunkSize))
}

// ChunkOffset is where chunk i starts in the file.
func (m *Manifest) ChunkOffset(i int) int64 { return int64(i) * int64(m.ChunkSize) }

// ChunkLen is the length of chunk i: ChunkSize, except maybe the last.
func (m *Manifest) ChunkLen(i int) int {
	if i < 0 || i >= len(m.Chunks) {
		return 0
	}
	rest := m.Size - m.ChunkOffset(i)
	if rest < int64(m.ChunkSize) {
		return int(rest)
	}
	return m.ChunkSize
}

// Validate checks that the manifest is internally consistent.
func (m *Manifest) Validate() error {
	switch {
	case m.Version != ManifestVersion:
		return fmt.Errorf("%w: version %d, want %d", ErrBadManifest, m.Version, ManifestVersion)
	case m.Size < 0:
		return fmt.Errorf("%w: negative size %d", ErrBadManifest, m.Size)
	case m.ChunkSize <= 0 || m.ChunkSize > MaxChunkSize:
		return fmt.Errorf("%w: chunk size %d not in 1..%d", ErrBadManifest, m.ChunkSize, MaxChunkSize)
	case len(m.Chunks) != NumChunks(m.Size, m.ChunkSize):
		return fmt.Errorf("%w: %d chunk hashes for size %d and chunk size %d, want %d",
			ErrBadManifest, len(m.Chunks), m.Size, m.ChunkSize, NumChunks(m.Size, m.ChunkSize))
	case m.ETag != ETagFor(m.SHA256):
		return fmt.Errorf("%w: etag %q does not match sha256", ErrBadManifest, m.ETag)
	}
	if _, err := CleanPath(m.Path); err != nil {
		return fmt.Errorf("%w: %w", ErrBadManifest, err)
	}
	return nil
}

// MarshalJSON writes the manifest with lowercase hex hashes.
func (m *Manifest) MarshalJSON() ([]byte, error) {
	type plain Manifest
	return json.Marshal((*plain)(m))
}

// ParseManifest decodes and validates a JSON manifest. It rejects trailing
// data, and a path that is not clean.
func ParseManifest(b []byte) (*Manifest, error) {
	type plain Manifest
	var m plain
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadManifest, err)
	}
	// Not dec.More: it reports a trailing "}" or "]" as no more data.
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, fmt.Errorf("%w: trailing data after manifest", ErrBadManifest)
	}
	mm := (*Manifest)(&m)
	if err := mm.Validate(); err != nil {
		return nil, err
	}
	if p, _ := CleanPath(mm.Path); p != mm.Path {
		return nil, fmt.Errorf("%w: path %q is not clean", ErrBadManifest, mm.Path)
	}
	return mm, nil
}
