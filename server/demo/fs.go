package demo

import (
	"bytes"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// memFile is a regular file of a memFS.
type memFile struct {
	name string // slash-separated path, valid per fs.ValidPath
	data []byte
}

// memFS is an immutable in-memory file system. Unlike testing/fstest.MapFS
// it cannot be modified by callers, and it does not pull the testing
// package into the relay binary.
type memFS struct {
	nodes map[string]*node // by path; "." is the root
}

// node is a file or a directory of a memFS. It implements fs.FileInfo and
// fs.DirEntry.
type node struct {
	name    string // base name ("." for the root)
	data    []byte // nil for directories
	dir     bool
	modTime time.Time
	entries []fs.DirEntry // sorted by name; directories only
}

func (n *node) Name() string               { return n.name }
func (n *node) Size() int64                { return int64(len(n.data)) }
func (n *node) ModTime() time.Time         { return n.modTime }
func (n *node) IsDir() bool                { return n.dir }
func (n *node) Sys() any                   { return nil }
func (n *node) Type() fs.FileMode          { return n.Mode().Type() }
func (n *node) Info() (fs.FileInfo, error) { return n, nil }
func (n *node) String() string             { return fs.FormatFileInfo(n) }

func (n *node) Mode() fs.FileMode {
	if n.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

// newMemFS builds a file system holding files, creating parent directories.
func newMemFS(files []memFile, modTime time.Time) *memFS {
	m := &memFS{nodes: map[string]*node{".": {name: ".", dir: true, modTime: modTime}}}
	var mkdir func(p string) *node
	mkdir = func(p string) *node {
		if n, ok := m.nodes[p]; ok {
			return n
		}
		n := &node{name: path.Base(p), dir: true, modTime: modTime}
		m.nodes[p] = n
		parent := mkdir(path.Dir(p))
		parent.entries = append(parent.entries, n)
		return n
	}
	for _, f := range files {
		if !fs.ValidPath(f.name) || f.name == "." {
			panic("demo: invalid file name " + f.name)
		}
		if _, dup := m.nodes[f.name]; dup {
			panic("demo: duplicate file name " + f.name)
		}
		n := &node{name: path.Base(f.name), data: f.data, modTime: modTime}
		m.nodes[f.name] = n
		parent := mkdir(path.Dir(f.name))
		parent.entries = append(parent.entries, n)
	}
	for _, n := range m.nodes {
		slices.SortFunc(n.entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	}
	return m
}

func (m *memFS) lookup(op, name string) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n, ok := m.nodes[name]
	if !ok {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return n, nil
}

// Open implements fs.FS.
func (m *memFS) Open(name string) (fs.File, error) {
	n, err := m.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return &openDir{node: n, path: name}, nil
	}
	return &openFile{node: n, path: name, r: bytes.NewReader(n.data)}, nil
}

// ReadFile implements fs.ReadFileFS. The caller owns the returned slice.
func (m *memFS) ReadFile(name string) ([]byte, error) {
	n, err := m.lookup("readfile", name)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: errIsDir}
	}
	return slices.Clone(n.data), nil
}

// Stat implements fs.StatFS.
func (m *memFS) Stat(name string) (fs.FileInfo, error) {
	n, err := m.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// ReadDir implements fs.ReadDirFS.
func (m *memFS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := m.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	return slices.Clone(n.entries), nil
}

type fsError string

func (e fsError) Error() string { return string(e) }

const (
	errIsDir  fsError = "is a directory"
	errNotDir fsError = "not a directory"
)

// openFile is an open regular file. It supports io.Seeker and io.ReaderAt,
// so http.FileServer can serve ranges.
type openFile struct {
	node   *node
	path   string
	r      *bytes.Reader
	closed bool
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.node, nil }

func (f *openFile) Read(p []byte) (int, error) {
	if f.closed {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: fs.ErrClosed}
	}
	return f.r.Read(p)
}

func (f *openFile) ReadAt(p []byte, off int64) (int, error) {
	if f.closed {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: fs.ErrClosed}
	}
	return f.r.ReadAt(p, off)
}

func (f *openFile) Seek(offset int64, whence int) (int64, error) {
	if f.closed {
		return 0, &fs.PathError{Op: "seek", Path: f.path, Err: fs.ErrClosed}
	}
	return f.r.Seek(offset, whence)
}

func (f *openFile) Close() error {
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.path, Err: fs.ErrClosed}
	}
	f.closed = true
	return nil
}

// openDir is an open directory.
type openDir struct {
	node   *node
	path   string
	off    int
	closed bool
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.node, nil }

func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: errIsDir}
}

func (d *openDir) Close() error {
	if d.closed {
		return &fs.PathError{Op: "close", Path: d.path, Err: fs.ErrClosed}
	}
	d.closed = true
	return nil
}

// ReadDir implements fs.ReadDirFile.
func (d *openDir) ReadDir(count int) ([]fs.DirEntry, error) {
	if d.closed {
		return nil, &fs.PathError{Op: "readdir", Path: d.path, Err: fs.ErrClosed}
	}
	rest := d.node.entries[d.off:]
	if count <= 0 {
		d.off += len(rest)
		return slices.Clone(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	k := min(count, len(rest))
	d.off += k
	return slices.Clone(rest[:k]), nil
}
