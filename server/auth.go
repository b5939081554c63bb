package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrAuth: a request's token is missing, malformed, forged, expired or does
// not cover the path.
var ErrAuth = errors.New("unauthorized")

// minSecretLen is the shortest --auth-secret accepted: HS256 wants a key of
// at least its hash size.
const minSecretLen = 32

// claims are what a p2pcache token carries: exp (required), sub (the peer's
// identity, for bans and quotas) and paths (allowed path prefixes; none means
// every path).
type claims struct {
	Paths []string `json:"paths,omitempty"`
	jwt.RegisteredClaims
}

// grant is a verified token's permissions.
type grant struct {
	subject  string
	prefixes []string
}

// allows reports whether the token covers path (clean, relative).
func (g grant) allows(path string) bool {
	if len(g.prefixes) == 0 {
		return true
	}
	for _, p := range g.prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// authenticator verifies HS256 tokens signed with one secret.
type authenticator struct {
	secret []byte
	parser *jwt.Parser
}

func newAuthenticator(secret string) *authenticator {
	return &authenticator{
		secret: []byte(secret),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(5*time.Second),
		),
	}
}

// verify checks a token and returns its grant.
func (a *authenticator) verify(token string) (grant, error) {
	if token == "" {
		return grant{}, fmt.Errorf("%w: no token (send Authorization: Bearer <token> or ?access_token=)", ErrAuth)
	}
	var c claims
	_, err := a.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return a.secret, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return grant{}, fmt.Errorf("%w: token expired", ErrAuth)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return grant{}, fmt.Errorf("%w: bad token signature", ErrAuth)
	case err != nil:
		return grant{}, fmt.Errorf("%w: invalid token: %v", ErrAuth, err)
	}
	for i, p := range c.Paths {
		c.Paths[i] = strings.TrimPrefix(p, "/")
	}
	return grant{subject: c.Subject, prefixes: c.Paths}, nil
}

// mint signs a token for sub and paths, valid for ttl.
func mint(secret, sub string, paths []string, ttl time.Duration) (string, error) {
	now := time.Now()
	c := claims{Paths: paths, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   sub,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
}

// runToken is the "token" subcommand: it prints a token for --auth-secret.
func runToken(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("p2pcache token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secret := fs.String("auth-secret", getenv(envName("auth-secret")), "the relay's --auth-secret [$P2PCACHE_AUTH_SECRET]")
	sub := fs.String("sub", "", "the peer's identity (bans and quotas apply to it)")
	paths := fs.String("paths", "", "allowed path prefixes, comma list (default: all)")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: p2pcache token [flags]\n\nPrints an access token (JWT, HS256) for a relay started with --auth-secret.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(*secret) < minSecretLen {
		fmt.Fprintf(stderr, "p2pcache token: --auth-secret must be at least %d bytes\n", minSecretLen)
		return 2
	}
	if *ttl <= 0 {
		fmt.Fprintln(stderr, "p2pcache token: --ttl must be positive")
		return 2
	}
	tok, err := mint(*secret, *sub, splitList(*paths), *ttl)
	if err != nil {
		fmt.Fprintln(stderr, "p2pcache token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
