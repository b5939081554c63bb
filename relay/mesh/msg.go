package mesh

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/p2pcache/p2pcache/cache"
	"github.com/p2pcache/p2pcache/relay/wire"
)

// Version is the relay-to-relay protocol version: it is in every subject
// (".v1.") and every message ("v" or the first byte).
const Version = 1

// MaxPart is the largest body of one reply message: a whole chunk
// (wire.MaxChunkSize, 64 KiB) travels in one message of MaxPart+2 bytes;
// a larger answer (a manifest of more than about a thousand chunks) is
// split into parts of MaxPart. That is far below NATS's default
// max_payload of 1 MiB, so a server configured lower still carries it,
// and one answer holds a route connection for at most 64 KiB at a time,
// so small requests and heartbeats are not stuck behind big answers.
const MaxPart = wire.MaxChunkSize

// Bounds on what is accepted from another relay.
const (
	maxRequest      = 4 << 10  // a request: a path of at most wire.MaxPathLen and two hashes
	maxAnnouncement = 4 << 10  // a membership announcement
	maxReason       = 256      // the text of a MISS or ERROR
	maxManifestBody = 32 << 20 // an assembled manifest answer: 1 GiB in 4 KiB chunks is 18 MB
	maxIDLen        = 64
	maxURLLen       = 2048
	maxRegionLen    = 64
	maxChunkIndex   = 1 << 28
	maxMaxAge       = 365 * 24 * time.Hour
)

// Subjects. ns is Config.Namespace ("p2pcache" by default).
func membersSubject(ns string) string         { return ns + ".v1.members" }
func relaySubject(ns, id, kind string) string { return ns + ".v1.relay." + id + "." + kind }
func relayWildcard(ns, id string) string      { return ns + ".v1.relay." + id + ".*" }

// Request kinds: the last token of a relay subject.
const (
	kindManifest = "manifest"
	kindChunk    = "chunk"
)

// request asks an owner for a manifest (Path alone) or for a chunk: chunk
// I, with hash Hash, of the version of Path whose whole-file SHA-256 is
// File. Peek asks for the owner's LRU only: the owner answers at once,
// with the bytes or MISS, and never fetches. JSON, under maxRequest bytes.
type request struct {
	V    int       `json:"v"`
	From string    `json:"from"`
	Path string    `json:"path"`
	File wire.Hash `json:"file,omitzero"`
	I    int       `json:"i,omitempty"`
	Hash wire.Hash `json:"hash,omitzero"`
	Peek bool      `json:"peek,omitempty"`
}

func (r *request) encode() []byte {
	b, _ := json.Marshal(r) // cannot fail: strings, ints, hashes
	return b
}

// decodeRequest parses and validates a request of kind (kindManifest or
// kindChunk).
func decodeRequest(kind string, b []byte) (request, error) {
	var r request
	if len(b) > maxRequest {
		return r, fmt.Errorf("%w: request of %d bytes", ErrBadMessage, len(b))
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if r.V != Version {
		return r, fmt.Errorf("%w: version %d, want %d", ErrBadMessage, r.V, Version)
	}
	if err := validID(r.From); err != nil {
		return r, err
	}
	if p, err := wire.CleanPath(r.Path); err != nil || p != r.Path {
		return r, fmt.Errorf("%w: path %q is not clean", ErrBadMessage, r.Path)
	}
	switch kind {
	case kindManifest:
		if r.File != (wire.Hash{}) || r.Hash != (wire.Hash{}) || r.I != 0 || r.Peek {
			return r, fmt.Errorf("%w: chunk fields in a manifest request", ErrBadMessage)
		}
	case kindChunk:
		if r.I < 0 || r.I >= maxChunkIndex || r.File == (wire.Hash{}) || r.Hash == (wire.Hash{}) {
			return r, fmt.Errorf("%w: chunk request without a file, hash or index", ErrBadMessage)
		}
	default:
		return r, fmt.Errorf("%w: unknown request kind %q", ErrBadMessage, kind)
	}
	return r, nil
}

// replyKind is the second byte of a reply; the first is Version. A reply
// stream to one request is: an optional ACK, any number of WORKING and
// PART, then one final DATA, MISS, NOTFOUND or ERROR.
type replyKind byte

const (
	replyAck      replyKind = 1 // accepted: the owner works on it; WORKING follows every Config.Heartbeat
	replyWorking  replyKind = 2 // still working
	replyPart     replyKind = 3 // a part of the answer: more follow
	replyData     replyKind = 4 // the answer, or its last part
	replyMiss     replyKind = 5 // no answer here: ask elsewhere. Body: a reason
	replyNotFound replyKind = 6 // the origin has no such file
	replyError    replyKind = 7 // the owner failed. Body: the error
)

func (k replyKind) String() string {
	switch k {
	case replyAck:
		return "ack"
	case replyWorking:
		return "working"
	case replyPart:
		return "part"
	case replyData:
		return "data"
	case replyMiss:
		return "miss"
	case replyNotFound:
		return "not_found"
	case replyError:
		return "error"
	}
	return fmt.Sprintf("reply(%d)", byte(k))
}

func encodeReply(k replyKind, body []byte) []byte {
	b := make([]byte, 2+len(body))
	b[0], b[1] = Version, byte(k)
	copy(b[2:], body)
	return b
}

// encodeText is encodeReply for MISS and ERROR: the text is cut to
// maxReason bytes on a rune boundary.
func encodeText(k replyKind, text string) []byte {
	if len(text) > maxReason {
		text = text[:maxReason]
		for !utf8.ValidString(text) {
			text = text[:len(text)-1]
		}
	}
	return encodeReply(k, []byte(text))
}

// decodeReply splits a reply into its kind and body, and checks the body
// fits the kind. The body aliases b.
func decodeReply(b []byte) (replyKind, []byte, error) {
	if len(b) < 2 {
		return 0, nil, fmt.Errorf("%w: reply of %d bytes", ErrBadMessage, len(b))
	}
	if b[0] != Version {
		return 0, nil, fmt.Errorf("%w: reply version %d, want %d", ErrBadMessage, b[0], Version)
	}
	k, body := replyKind(b[1]), b[2:]
	switch k {
	case replyAck, replyWorking, replyNotFound:
		if len(body) != 0 {
			return 0, nil, fmt.Errorf("%w: %v reply with a body", ErrBadMessage, k)
		}
	case replyPart, replyData:
		if len(body) > MaxPart {
			return 0, nil, fmt.Errorf("%w: %v of %d bytes, the limit is %d", ErrBadMessage, k, len(body), MaxPart)
		}
	case replyMiss, replyError:
		if len(body) > maxReason || !utf8.Valid(body) {
			return 0, nil, fmt.Errorf("%w: %v reason is not short UTF-8 text", ErrBadMessage, k)
		}
	default:
		return 0, nil, fmt.Errorf("%w: unknown reply kind %d", ErrBadMessage, byte(k))
	}
	return k, body, nil
}

// manifestAnswer is the body of a manifest request's DATA (assembled from
// its parts): the manifest as PROTOCOL.md defines it, with the origin's
// validators and the freshness the owner has left. JSON.
type manifestAnswer struct {
	V                  int             `json:"v"`
	MaxAgeMS           int64           `json:"maxAgeMs"`
	OriginETag         string          `json:"originETag,omitempty"`
	OriginLastModified time.Time       `json:"originLastModified,omitzero"`
	Manifest           json.RawMessage `json:"manifest"`
}

func encodeManifestAnswer(tm cache.TierManifest) ([]byte, error) {
	mb, err := tm.Manifest.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return json.Marshal(manifestAnswer{
		V: Version, MaxAgeMS: tm.MaxAge.Milliseconds(),
		OriginETag: tm.Validators.ETag, OriginLastModified: tm.Validators.LastModified,
		Manifest: mb,
	})
}

// decodeManifestAnswer parses and validates a manifest answer for path.
func decodeManifestAnswer(path string, b []byte) (cache.TierManifest, error) {
	var a manifestAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return cache.TierManifest{}, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if a.V != Version {
		return cache.TierManifest{}, fmt.Errorf("%w: manifest answer version %d", ErrBadMessage, a.V)
	}
	if a.MaxAgeMS < 0 || a.MaxAgeMS > maxMaxAge.Milliseconds() {
		return cache.TierManifest{}, fmt.Errorf("%w: max age %d ms", ErrBadMessage, a.MaxAgeMS)
	}
	m, err := wire.ParseManifest(bytes.TrimSpace(a.Manifest))
	if err != nil {
		return cache.TierManifest{}, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if m.Path != path {
		return cache.TierManifest{}, fmt.Errorf("%w: manifest of %q, asked for %q", ErrBadMessage, m.Path, path)
	}
	return cache.TierManifest{
		Manifest:   m,
		Validators: cache.Validators{ETag: a.OriginETag, LastModified: a.OriginLastModified},
		MaxAge:     time.Duration(a.MaxAgeMS) * time.Millisecond,
	}, nil
}

// Announcement states.
const (
	stateJoin  = "join"  // first announcement after (re)connecting: members answer with theirs at once
	stateUp    = "up"    // periodic, every Config.AnnounceInterval
	stateLeave = "leave" // closing: members drop it at once
)

// announcement is what a relay publishes on the members subject. Instance
// is random per process, so two processes given the same ID are told
// apart. JSON, under maxAnnouncement bytes.
type announcement struct {
	V        int       `json:"v"`
	ID       string    `json:"id"`
	Instance string    `json:"instance"`
	State    string    `json:"state"`
	URL      string    `json:"url,omitempty"`
	Region   string    `json:"region,omitempty"`
	Peers    int       `json:"peers"`
	Egress   uint64    `json:"egress"`
	Started  time.Time `json:"started"`
}

func (a *announcement) encode() []byte {
	b, _ := json.Marshal(a) // cannot fail: strings, ints, a time
	return b
}

func decodeAnnouncement(b []byte) (announcement, error) {
	var a announcement
	if len(b) > maxAnnouncement {
		return a, fmt.Errorf("%w: announcement of %d bytes", ErrBadMessage, len(b))
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	switch {
	case a.V != Version:
		return a, fmt.Errorf("%w: announcement version %d", ErrBadMessage, a.V)
	case a.Instance == "" || len(a.Instance) > maxIDLen:
		return a, fmt.Errorf("%w: instance %q", ErrBadMessage, a.Instance)
	case a.State != stateJoin && a.State != stateUp && a.State != stateLeave:
		return a, fmt.Errorf("%w: state %q", ErrBadMessage, a.State)
	case len(a.URL) > maxURLLen || len(a.Region) > maxRegionLen || !utf8.ValidString(a.URL) || !utf8.ValidString(a.Region):
		return a, fmt.Errorf("%w: url or region too long or not UTF-8", ErrBadMessage)
	case a.Peers < 0:
		return a, fmt.Errorf("%w: %d peers", ErrBadMessage, a.Peers)
	}
	return a, validID(a.ID)
}

// validID reports whether id can be a relay id: 1 to 64 of [A-Za-z0-9_-],
// so it is one NATS subject token.
func validID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("%w: relay id %q: 1 to %d characters", ErrBadMessage, id, maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return fmt.Errorf("%w: relay id %q: only letters, digits, '-' and '_'", ErrBadMessage, id)
		}
	}
	return nil
}
