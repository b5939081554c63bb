package edge

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
)

// claims are what a p2pcache token carries: exp (required), sub (the peer's
// identity, for bans and quotas) and paths (allowed path prefixes, matched
// by whole segments; none means every path).
type claims struct {
	Paths []string `json:"paths,omitempty"`
	jwt.RegisteredClaims
}

// grant is a verified token's permissions.
type grant struct {
	subject  string
	prefixes []string  // relative: no leading slash
	expires  time.Time // exp, plus the leeway the token was checked with
}

// allows reports whether the token covers path (clean, relative). A prefix
// matches whole segments: "images" and "images/" cover "images/a.png", and
// "images" covers the file "images", but neither covers "images-private/a.png".
// An empty prefix ("/") covers every path.
func (g grant) allows(path string) bool {
	if len(g.prefixes) == 0 {
		return true
	}
	for _, p := range g.prefixes {
		if covers(p, path) {
			return true
		}
	}
	return false
}

// covers reports whether prefix covers path by whole segments.
func covers(prefix, path string) bool {
	if prefix == "" || strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix)
	}
	rest, ok := strings.CutPrefix(path, prefix)
	return ok && (rest == "" || rest[0] == '/')
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
			jwt.WithLeeway(tokenLeeway),
		),
	}
}

// tokenLeeway is the clock skew allowed between the token's issuer and the
// relay: a token is taken until its exp plus this, and a session ends then.
const tokenLeeway = 5 * time.Second

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
	return grant{subject: c.Subject, prefixes: c.Paths, expires: c.ExpiresAt.Add(tokenLeeway)}, nil
}

// MintToken signs an access token (a JWT, HS256) with secret, valid for
// ttl: sub names the peer (bans and quotas apply to it; empty: its IP) and
// paths are the path prefixes it may fetch, matched by whole segments
// (none: every path). A peer connected with it is disconnected when it
// expires.
func MintToken(secret, sub string, paths []string, ttl time.Duration) (string, error) {
	if len(secret) < MinSecretLen {
		return "", fmt.Errorf("%w: the auth secret must be at least %d bytes", ErrConfig, MinSecretLen)
	}
	now := time.Now()
	c := claims{Paths: paths, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   sub,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
}

// authorize requires a valid token covering the path when Config.AuthSecret
// is set: Authorization: Bearer <token>, or ?access_token=.
func (e *Edge) authorize(c *fiber.Ctx) error {
	if e.auth == nil {
		return c.Next()
	}
	tok := c.Query("access_token")
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		var ok bool
		if tok, ok = strings.CutPrefix(h, "Bearer "); !ok {
			return e.reject(c, "unauthorized", http.StatusUnauthorized, "Authorization must be: Bearer <token>")
		}
	}
	g, err := e.auth.verify(strings.TrimSpace(tok))
	if err != nil {
		return e.reject(c, "unauthorized", http.StatusUnauthorized, err.Error())
	}
	if p, err := requestPath(c); err == nil && !g.allows(p) {
		return e.reject(c, "out_of_scope", http.StatusUnauthorized, "unauthorized: the token does not cover "+p)
	}
	return c.Next()
}
