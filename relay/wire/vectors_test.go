package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// The shared test vectors in testdata/*.json are the protocol's examples,
// valid and hostile, checked by this file and by client-js's tests alike.
// vectors_gen_test.go generates them:
//
//	go test ./relay/wire -run TestVectors -update
//
// A normal run reads the files, checks every vector in both directions, and
// checks that the files are what the generator writes.
var update = flag.Bool("update", false, "rewrite testdata/*.json from the vector generator")

type frameFile struct {
	Comment string        `json:"comment"`
	Vectors []frameVector `json:"vectors"`
}

// frameVector is a valid frame (Frame set) or one that must fail to decode
// (Error set; Type and ID are what the error carries when the header was
// readable).
type frameVector struct {
	Name  string    `json:"name"`
	Hex   string    `json:"hex"`
	Frame *vecFrame `json:"frame,omitempty"`
	Error string    `json:"error,omitempty"`
	Type  *uint8    `json:"type,omitempty"`
	ID    *uint32   `json:"id,omitempty"`
}

// vecFrame is a Frame as JSON: the type by name, byte fields as lowercase
// hex, and exactly the fields its type has; a CHUNK's source only when it
// is not 0 (unspecified), as the SDK's decoder leaves it out.
type vecFrame struct {
	Type    string  `json:"type"`
	ID      uint32  `json:"id"`
	Path    *string `json:"path,omitempty"`
	Index   *uint32 `json:"index,omitempty"`
	Hash    *string `json:"hash,omitempty"`
	Count   *uint32 `json:"count,omitempty"`
	Bitmap  *string `json:"bitmap,omitempty"`
	Total   *uint32 `json:"total,omitempty"`
	Offset  *uint32 `json:"offset,omitempty"`
	Data    *string `json:"data,omitempty"`
	Code    *uint16 `json:"code,omitempty"`
	Message *string `json:"message,omitempty"`
	Source  *uint8  `json:"source,omitempty"`
}

type signalFile struct {
	Comment string         `json:"comment"`
	Vectors []signalVector `json:"vectors"`
}

type signalVector struct {
	Name   string          `json:"name"`
	Text   string          `json:"text"`
	Signal json.RawMessage `json:"signal,omitempty"`
	Error  string          `json:"error,omitempty"`
}

type manifestFile struct {
	Comment string           `json:"comment"`
	Vectors []manifestVector `json:"vectors"`
}

type manifestVector struct {
	Name     string       `json:"name"`
	Text     string       `json:"text"`
	Path     string       `json:"path,omitempty"`
	Manifest *vecManifest `json:"manifest,omitempty"`
	Error    string       `json:"error,omitempty"`
}

// vecManifest is a decoded Manifest as JSON: chunks always a list, and
// lastModified, when present, as RFC 3339.
type vecManifest struct {
	V            int      `json:"v"`
	Path         string   `json:"path"`
	Size         int64    `json:"size"`
	ContentType  string   `json:"contentType"`
	ETag         string   `json:"etag"`
	LastModified string   `json:"lastModified,omitempty"`
	ChunkSize    int      `json:"chunkSize"`
	SHA256       string   `json:"sha256"`
	Chunks       []string `json:"chunks"`
}

type pathFile struct {
	Comment string       `json:"comment"`
	Vectors []pathVector `json:"vectors"`
}

type pathVector struct {
	In    string `json:"in"`
	Clean string `json:"clean,omitempty"`
	Error string `json:"error,omitempty"`
}

// errorClasses are the error classes the vectors name, outermost first (a
// bad manifest may wrap a bad path).
var errorClasses = []struct {
	name string
	err  error
}{
	{"bad_frame", ErrBadFrame},
	{"unknown_type", ErrUnknownType},
	{"bad_version", ErrVersion},
	{"bad_signal", ErrBadSignal},
	{"bad_manifest", ErrBadManifest},
	{"bad_path", ErrBadPath},
}

// errorClass names err's class.
func errorClass(err error) string {
	for _, c := range errorClasses {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return fmt.Sprintf("unclassified(%v)", err)
}

var frameTypes = map[string]FrameType{}

func init() {
	for t := FrameType(0); t < 0x20; t++ {
		if s := t.String(); s[0] != 'T' {
			frameTypes[s] = t
		}
	}
}

// frameFields lists the JSON fields each frame type has.
var frameFields = map[FrameType][]string{
	TypeGetFile:     {"path"},
	TypeGetManifest: {"path"},
	TypeGetChunk:    {"index", "hash", "path"},
	TypeCancel:      {},
	TypePing:        {"data"},
	TypePong:        {"data"},
	TypeHave:        {"hash", "count", "bitmap", "path"},
	TypeManifest:    {"total", "offset", "data"},
	TypeChunk:       {"index", "total", "offset", "data"},
	TypeError:       {"code", "message"},
}

func toVecFrame(f *Frame) *vecFrame {
	v := &vecFrame{Type: f.Type.String(), ID: f.ID}
	for _, field := range frameFields[f.Type] {
		switch field {
		case "path":
			v.Path = new(f.Path)
		case "index":
			v.Index = new(f.Index)
		case "hash":
			v.Hash = new(f.Hash.String())
		case "count":
			v.Count = new(f.Count)
		case "bitmap":
			v.Bitmap = new(hex.EncodeToString(f.Bitmap))
		case "total":
			v.Total = new(f.Total)
		case "offset":
			v.Offset = new(f.Offset)
		case "data":
			v.Data = new(hex.EncodeToString(f.Data))
		case "code":
			v.Code = new(uint16(f.Code))
		case "message":
			v.Message = new(f.Message)
		}
	}
	if f.Source != SourceUnspecified {
		v.Source = new(uint8(f.Source))
	}
	return v
}

// fromVecFrame checks that v has exactly its type's fields and returns the Frame.
func fromVecFrame(v *vecFrame) (*Frame, error) {
	t, ok := frameTypes[v.Type]
	if !ok {
		return nil, fmt.Errorf("unknown type name %q", v.Type)
	}
	f := &Frame{Type: t, ID: v.ID}
	has := map[string]bool{
		"path": v.Path != nil, "index": v.Index != nil, "hash": v.Hash != nil, "count": v.Count != nil,
		"bitmap": v.Bitmap != nil, "total": v.Total != nil, "offset": v.Offset != nil, "data": v.Data != nil,
		"code": v.Code != nil, "message": v.Message != nil,
	}
	for _, field := range frameFields[t] {
		if !has[field] {
			return nil, fmt.Errorf("%s lacks %q", v.Type, field)
		}
		delete(has, field)
	}
	for field, present := range has {
		if present {
			return nil, fmt.Errorf("%s has no field %q", v.Type, field)
		}
	}
	if v.Source != nil {
		if t != TypeChunk {
			return nil, fmt.Errorf("%s has no field \"source\"", v.Type)
		}
		if *v.Source == 0 {
			return nil, errors.New(`"source" 0 must be left out`)
		}
		f.Source = ChunkSource(*v.Source)
	}
	var err error
	unhex := func(s *string) []byte {
		if s == nil || err != nil {
			return nil
		}
		var b []byte
		if b, err = hex.DecodeString(*s); err == nil && hex.EncodeToString(b) != *s {
			err = fmt.Errorf("hex %q is not lowercase", *s)
		}
		return b
	}
	deref := func(p *uint32) uint32 {
		if p == nil {
			return 0
		}
		return *p
	}
	if v.Path != nil {
		f.Path = *v.Path
	}
	if v.Hash != nil {
		if f.Hash, err = ParseHash(*v.Hash); err != nil {
			return nil, err
		}
	}
	f.Index, f.Count, f.Total, f.Offset = deref(v.Index), deref(v.Count), deref(v.Total), deref(v.Offset)
	f.Bitmap, f.Data = unhex(v.Bitmap), unhex(v.Data)
	if v.Code != nil {
		f.Code = ErrorCode(*v.Code)
	}
	if v.Message != nil {
		f.Message = *v.Message
	}
	return f, err
}

// normalFrame makes empty byte fields nil, for comparing.
func normalFrame(f Frame) Frame {
	if len(f.Data) == 0 {
		f.Data = nil
	}
	if len(f.Bitmap) == 0 {
		f.Bitmap = nil
	}
	return f
}

func toVecManifest(m *Manifest) *vecManifest {
	v := &vecManifest{V: m.Version, Path: m.Path, Size: m.Size, ContentType: m.ContentType, ETag: m.ETag,
		ChunkSize: m.ChunkSize, SHA256: m.SHA256.String(), Chunks: []string{}}
	if !m.LastModified.IsZero() {
		v.LastModified = m.LastModified.Format(time.RFC3339Nano)
	}
	for _, h := range m.Chunks {
		v.Chunks = append(v.Chunks, h.String())
	}
	return v
}

// parseManifestFor is ParseManifest plus the check a client makes of a
// manifest it asked for by path: it must be that path's.
func parseManifestFor(text, path string) (*Manifest, error) {
	m, err := ParseManifest([]byte(text))
	if err != nil {
		return nil, err
	}
	if path != "" && m.Path != path {
		return nil, fmt.Errorf("%w: manifest is for %q, asked for %q", ErrBadManifest, m.Path, path)
	}
	return m, nil
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func TestVectors(t *testing.T) {
	files := map[string]any{
		"frames.json":    genFrames(t),
		"signals.json":   genSignals(t),
		"manifests.json": genManifests(t),
		"paths.json":     genPaths(),
	}
	for name, v := range files {
		want, err := marshalVectors(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator writes: run go test ./relay/wire -run TestVectors -update", p)
		}
	}
	t.Run("frames", func(t *testing.T) {
		var file frameFile
		readVectors(t, "frames.json", &file)
		for _, v := range file.Vectors {
			if err := checkFrameVector(v); err != nil {
				t.Errorf("%s: %v", v.Name, err)
			}
		}
	})
	t.Run("signals", func(t *testing.T) {
		var file signalFile
		readVectors(t, "signals.json", &file)
		for _, v := range file.Vectors {
			if err := checkSignalVector(v); err != nil {
				t.Errorf("%s: %v", v.Name, err)
			}
		}
	})
	t.Run("manifests", func(t *testing.T) {
		var file manifestFile
		readVectors(t, "manifests.json", &file)
		for _, v := range file.Vectors {
			if err := checkManifestVector(v); err != nil {
				t.Errorf("%s: %v", v.Name, err)
			}
		}
	})
	t.Run("paths", func(t *testing.T) {
		var file pathFile
		readVectors(t, "paths.json", &file)
		for _, v := range file.Vectors {
			if err := checkPathVector(v); err != nil {
				t.Errorf("%q: %v", v.In, err)
			}
		}
	})
}

func marshalVectors(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	err := enc.Encode(v)
	return buf.Bytes(), err
}

func readVectors(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if n := reflect.ValueOf(v).Elem().FieldByName("Vectors").Len(); n == 0 {
		t.Fatalf("%s has no vectors", name)
	}
}

func checkFrameVector(v frameVector) error {
	b, err := hex.DecodeString(v.Hex)
	if err != nil || hex.EncodeToString(b) != v.Hex {
		return fmt.Errorf("hex %q is not lowercase hex", v.Hex)
	}
	got, decErr := DecodeFrame(b)
	if (v.Frame == nil) == (v.Error == "") {
		return errors.New("a vector needs exactly one of frame and error")
	}
	if v.Error != "" {
		if decErr == nil {
			return fmt.Errorf("decoded to %+v, want error %s", got, v.Error)
		}
		if c := errorClass(decErr); c != v.Error {
			return fmt.Errorf("error %v is %s, want %s", decErr, c, v.Error)
		}
		var wantType FrameType
		var wantID uint32
		if v.Type != nil {
			wantType = FrameType(*v.Type)
		}
		if v.ID != nil {
			wantID = *v.ID
		}
		if got.Type != wantType || got.ID != wantID {
			return fmt.Errorf("error carries type 0x%02x id %d, want 0x%02x id %d", uint8(got.Type), got.ID, uint8(wantType), wantID)
		}
		return nil
	}
	if decErr != nil {
		return fmt.Errorf("decode: %v", decErr)
	}
	want, err := fromVecFrame(v.Frame)
	if err != nil {
		return err
	}
	if g, w := normalFrame(got), normalFrame(*want); !reflect.DeepEqual(g, w) {
		return fmt.Errorf("decoded\n %+v\nwant\n %+v", g, w)
	}
	enc, err := AppendFrame(nil, want)
	if err != nil {
		return fmt.Errorf("encode: %v", err)
	}
	if !bytes.Equal(enc, b) {
		return fmt.Errorf("encoded %x, want %s", enc, v.Hex)
	}
	return nil
}

func checkSignalVector(v signalVector) error {
	s, err := ParseSignal([]byte(v.Text))
	if (v.Signal == nil) == (v.Error == "") {
		return errors.New("a vector needs exactly one of signal and error")
	}
	if v.Error != "" {
		if err == nil {
			return fmt.Errorf("parsed to %+v, want error %s", s, v.Error)
		}
		if c := errorClass(err); c != v.Error {
			return fmt.Errorf("error %v is %s, want %s", err, c, v.Error)
		}
		return nil
	}
	if err != nil {
		return err
	}
	got, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if !sameJSON(got, v.Signal) {
		return fmt.Errorf("parsed to %s, want %s", got, v.Signal)
	}
	again, err := ParseSignal(s.Marshal())
	if err != nil || !reflect.DeepEqual(again, s) {
		return fmt.Errorf("re-encoded signal parses to %+v, %v", again, err)
	}
	return nil
}

func checkManifestVector(v manifestVector) error {
	m, err := parseManifestFor(v.Text, v.Path)
	if (v.Manifest == nil) == (v.Error == "") {
		return errors.New("a vector needs exactly one of manifest and error")
	}
	if v.Error != "" {
		if err == nil {
			return fmt.Errorf("parsed to %s, want error %s", dump(m), v.Error)
		}
		if c := errorClass(err); c != v.Error {
			return fmt.Errorf("error %v is %s, want %s", err, c, v.Error)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if got := toVecManifest(m); !reflect.DeepEqual(got, v.Manifest) {
		return fmt.Errorf("parsed to %+v, want %+v", got, v.Manifest)
	}
	j, err := json.Marshal(m)
	if err != nil {
		return err
	}
	again, err := ParseManifest(j)
	if err != nil {
		return fmt.Errorf("re-encoded manifest %s: %v", j, err)
	}
	return equalManifests(m, again)
}

func checkPathVector(v pathVector) error {
	got, err := CleanPath(v.In)
	if (v.Clean == "") == (v.Error == "") {
		return errors.New("a vector needs exactly one of clean and error")
	}
	if v.Error != "" {
		if err == nil {
			return fmt.Errorf("cleaned to %q, want error %s", got, v.Error)
		}
		if c := errorClass(err); c != v.Error {
			return fmt.Errorf("error %v is %s, want %s", err, c, v.Error)
		}
		return nil
	}
	if err != nil || got != v.Clean {
		return fmt.Errorf("= %q, %v; want %q", got, err, v.Clean)
	}
	return nil
}
