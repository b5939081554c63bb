// Package demo provides the relay's built-in demo origin: a small,
// deterministic gallery of real image files (JPEG, PNG and lossless WebP)
// ranging from a few tens of kilobytes to several megabytes, plus an
// index.json describing them.
//
// Nothing is stored in the repository: the pictures (aurora, dunes,
// ripples, a Mandelbrot set, plasma, a nebula and a stained-glass window)
// are painted procedurally with integer arithmetic and encoded in memory the
// first time [FS] is called. The painted pixels are identical on every
// architecture (tests pin their hashes); the encoded files are too, for a
// given Go release, since they also depend on the standard library's JPEG and
// PNG encoders. So every machine serves the same bytes, and therefore the same
// content hashes. Generation takes about half a second on two cores.
//
// The file system layout is:
//
//	index.json          gallery index (see below)
//	images/<name>.jpg   JPEG images
//	images/<name>.png   PNG images
//	images/<name>.webp  lossless WebP images
//
// index.json is a JSON array with one object per image, in gallery order:
//
//	[{"path":"images/aurora.jpg","size":123456,"contentType":"image/jpeg",
//	  "width":1920,"height":1080,"title":"Aurora over a Mountain Lake"}, ...]
package demo
