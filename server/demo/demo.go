package demo

import (
	"bytes"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"io/fs"
	"sync"
	"time"
)

// modTime is the modification time of every file in the demo file system.
var modTime = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// IndexPath is the path of the gallery index within the demo file system.
const IndexPath = "index.json"

// Entry describes one image in index.json.
type Entry struct {
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Title       string `json:"title"`
}

// spec describes how to produce one demo image.
type spec struct {
	path, title, contentType string
	w, h                     int
	paint                    func(w, h int) *image.RGBA
	encode                   func(*image.RGBA) []byte
}

func jpegEncoder(quality int) func(*image.RGBA) []byte {
	return func(img *image.RGBA) []byte {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
			panic("demo: jpeg: " + err.Error()) // cannot happen with an in-memory buffer
		}
		return buf.Bytes()
	}
}

func pngEncoder(level png.CompressionLevel) func(*image.RGBA) []byte {
	return func(img *image.RGBA) []byte {
		var buf bytes.Buffer
		enc := png.Encoder{CompressionLevel: level}
		if err := enc.Encode(&buf, img); err != nil {
			panic("demo: png: " + err.Error()) // cannot happen with an in-memory buffer
		}
		return buf.Bytes()
	}
}

// specs lists the gallery in display order.
var specs = []spec{
	{"images/aurora.jpg", "Aurora over a Mountain Lake", "image/jpeg", 1920, 1080, aurora, jpegEncoder(97)},
	{"images/desert-dunes.jpg", "Desert Dunes at Sunset", "image/jpeg", 1280, 800, dunes, jpegEncoder(94)},
	{"images/ripples.jpg", "Ripples on Still Water", "image/jpeg", 640, 400, ripples, jpegEncoder(80)},
	{"images/mandelbrot.png", "Mandelbrot Set", "image/png", 800, 600, mandelbrot, pngEncoder(png.DefaultCompression)},
	{"images/plasma.png", "Demoscene Plasma", "image/png", 1024, 768, plasma, pngEncoder(png.BestSpeed)},
	{"images/nebula.png", "Emission Nebula", "image/png", 1920, 1280, nebula, pngEncoder(png.BestSpeed)},
	{"images/stained-glass.webp", "Stained Glass", "image/webp", 720, 480, stainedGlass, encodeWebP},
}

var (
	once   sync.Once
	demoFS *memFS
)

// FS returns the demo origin's files as a read-only fs.FS. The files are
// generated once, on first use, and are deterministic: the same bytes on
// every machine and run. The result is safe for concurrent use.
func FS() fs.FS {
	once.Do(func() { demoFS = newMemFS(generate(), modTime) })
	return demoFS
}

// generate paints and encodes every image (concurrently) and builds the
// index. It returns the files in a fixed order, index.json first.
func generate() []memFile {
	data := make([][]byte, len(specs))
	var wg sync.WaitGroup
	for i := range specs {
		wg.Go(func() {
			s := &specs[i]
			data[i] = s.encode(s.paint(s.w, s.h))
		})
	}
	wg.Wait()

	index := make([]Entry, len(specs))
	files := make([]memFile, 0, len(specs)+1)
	for i, s := range specs {
		index[i] = Entry{s.path, int64(len(data[i])), s.contentType, s.w, s.h, s.title}
	}
	js, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		panic("demo: index: " + err.Error()) // cannot happen: plain structs
	}
	files = append(files, memFile{IndexPath, append(js, '\n')})
	for i, s := range specs {
		files = append(files, memFile{s.path, data[i]})
	}
	return files
}
