package cache

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// retryBase is the first backoff; each further try doubles it, with ±50%
// jitter so many relays do not hammer a recovering origin in step.
const retryBase = 100 * time.Millisecond

// transient reports whether err is worth another try: the origin failed
// (5xx, connection error, timeout, truncated or mis-sized body) rather than
// refused (4xx, a redirect off its host) or answered (not found, too large,
// changed under the manifest).
func transient(err error) bool {
	return errors.Is(err, ErrOrigin) && !errors.Is(err, ErrOriginRefused) &&
		!errors.Is(err, ErrStale) && !errors.Is(err, ErrTooLarge)
}

// retry runs one origin call, fn, and again after a backoff while it fails
// transiently, up to OriginRetries more times and while ctx (the flight's,
// bounded by OriginTimeout) lasts. It counts every failure and retry. The
// error returned is the last try's.
func (c *Cache) retry(ctx context.Context, p string, fn func() error) error {
	for try := 0; ; try++ {
		err := fn()
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrOrigin) {
			c.originErrors.Add(1)
		}
		if !transient(err) || try >= c.cfg.OriginRetries || ctx.Err() != nil {
			return err
		}
		d := retryBase << try
		d = d/2 + rand.N(d)
		c.cfg.Logger.Info("origin call failed; retrying", "path", p, "try", try+1, "backoff", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		c.originRetries.Add(1)
	}
}
