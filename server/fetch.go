package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/p2pcache/p2pcache/relay/peer"
)

// runFetch is the "fetch" subcommand: a Go peer connects to a relay over
// WebSocket + ICE-TCP, fetches paths, verifies them against their manifests
// and reports where the time went.
func runFetch(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("p2pcache fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	relayURL := fs.String("relay", "http://127.0.0.1:8080", "relay URL")
	out := fs.String("o", "", "write the (last) file's verified bytes to this file")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	token := fs.String("token", "", "access token, if the relay requires one")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: p2pcache fetch [flags] PATH...\n\nFetches files from a relay over WebRTC (ICE-TCP) as a Go peer, verifying every chunk.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	p, err := peer.Dial(ctx, *relayURL, peer.Options{Token: *token})
	if err != nil {
		fmt.Fprintln(stderr, "p2pcache fetch:", err)
		return 1
	}
	defer p.Close()
	tm := p.Timings()
	pair, _ := p.SelectedCandidatePair()
	fmt.Fprintf(stdout, "connected as %s: websocket %v, answer %v, data channel open %v (ws→dc %v)\n",
		p.ID(), tm.WebSocket.Round(time.Microsecond), tm.Answer.Round(time.Microsecond),
		tm.DataChannel.Round(time.Microsecond), (tm.DataChannel - tm.WebSocket).Round(time.Microsecond))
	if pair != nil {
		fmt.Fprintf(stdout, "ice pair: %s <-> %s\n", pair.Local, pair.Remote)
	}
	for _, path := range fs.Args() {
		f, err := p.FetchFile(ctx, path)
		if err != nil {
			fmt.Fprintln(stderr, "p2pcache fetch:", err)
			return 1
		}
		m := f.Manifest
		mbps := float64(m.Size) / f.Elapsed.Seconds() / 1e6
		fmt.Fprintf(stdout, "%s: %d bytes, %d chunks, %s, sha256 %s verified; first byte %v, total %v (%.1f MB/s)\n",
			m.Path, m.Size, len(m.Chunks), m.ContentType, m.SHA256.String()[:16]+"…",
			f.FirstByte.Round(time.Microsecond), f.Elapsed.Round(time.Microsecond), mbps)
		if *out != "" {
			if err := os.WriteFile(*out, f.Data, 0o644); err != nil {
				fmt.Fprintln(stderr, "p2pcache fetch:", err)
				return 1
			}
		}
	}
	return 0
}
