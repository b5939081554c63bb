package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/p2pcache/p2pcache/server/edge"
)

// runToken is the "token" subcommand: it prints a token for --auth-secret.
func runToken(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("p2pcache token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secret := fs.String("auth-secret", getenv("P2PCACHE_AUTH_SECRET"), "the relay's --auth-secret [$P2PCACHE_AUTH_SECRET]")
	sub := fs.String("sub", "", "the peer's identity (bans and quotas apply to it)")
	paths := fs.String("paths", "", "allowed path prefixes, comma list, matched by whole segments: /images covers /images/a.png, not /images-old/ (default: all)")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: p2pcache token [flags]\n\nPrints an access token (JWT, HS256) for a relay started with --auth-secret.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(*secret) < edge.MinSecretLen {
		fmt.Fprintf(stderr, "p2pcache token: --auth-secret must be at least %d bytes\n", edge.MinSecretLen)
		return 2
	}
	if *ttl <= 0 {
		fmt.Fprintln(stderr, "p2pcache token: --ttl must be positive")
		return 2
	}
	var prefixes []string
	for _, p := range strings.Split(*paths, ",") {
		if p = strings.TrimSpace(p); p != "" {
			prefixes = append(prefixes, p)
		}
	}
	tok, err := edge.MintToken(*secret, *sub, prefixes, *ttl)
	if err != nil {
		fmt.Fprintln(stderr, "p2pcache token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
