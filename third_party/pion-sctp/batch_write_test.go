// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

import (
	"bytes"
	"crypto/rand"
	"net"
	"sync"
	"testing"

	"github.com/pion/logging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchConn is a net.Conn with WriteBatch (p2pcache patch): each packet is
// still written as its own datagram; it counts the batches.
type batchConn struct {
	net.Conn

	mu      sync.Mutex
	batches int
	largest int // packets in the largest batch
	packets int // packets written through WriteBatch
}

func (c *batchConn) WriteBatch(pkts [][]byte) (int, error) {
	c.mu.Lock()
	c.batches++
	c.packets += len(pkts)
	c.largest = max(c.largest, len(pkts))
	c.mu.Unlock()
	n := 0
	for _, p := range pkts {
		m, err := c.Conn.Write(p)
		n += m
		if err != nil {
			return n, err
		}
	}

	return n, nil
}

// TestWriteLoopBatches checks that writeLoop hands a batchWriter every
// packet it gathered at once and that the data arrives intact, in order.
func TestWriteLoopBatches(t *testing.T) {
	c0, c1 := net.Pipe() // a read returns one whole write: packet boundaries hold
	bc := &batchConn{Conn: c0}
	lf := logging.NewDefaultLoggerFactory()

	type result struct {
		a   *Association
		err error
	}
	server := make(chan result, 1)
	go func() {
		a, err := ServerWithOptions(WithName("server"), WithNetConn(c1), WithLoggerFactory(lf))
		server <- result{a, err}
	}()
	client, err := ClientWithOptions(WithName("client"), WithNetConn(bc), WithLoggerFactory(lf))
	require.NoError(t, err)
	srv := <-server
	require.NoError(t, srv.err)
	defer func() {
		assert.NoError(t, client.Close())
		assert.NoError(t, srv.a.Close())
	}()

	send, err := client.OpenStream(1, PayloadTypeWebRTCBinary)
	require.NoError(t, err)

	const msgs, size = 32, 64 << 10
	want := make([]byte, msgs*size)
	_, err = rand.Read(want)
	require.NoError(t, err)

	writeErr := make(chan error, 1)
	go func() {
		for i := range msgs {
			if _, err := send.WriteSCTP(want[i*size:(i+1)*size], PayloadTypeWebRTCBinary); err != nil {
				writeErr <- err

				return
			}
		}
		writeErr <- nil
	}()

	recv, err := srv.a.AcceptStream()
	require.NoError(t, err)
	got := make([]byte, 0, len(want))
	buf := make([]byte, size)
	for len(got) < len(want) {
		n, _, err := recv.ReadSCTP(buf)
		require.NoError(t, err)
		got = append(got, buf[:n]...)
	}
	require.NoError(t, <-writeErr)
	assert.True(t, bytes.Equal(want, got), "the bytes arrive intact and in order")

	bc.mu.Lock()
	defer bc.mu.Unlock()
	assert.Positive(t, bc.batches, "writeLoop used WriteBatch")
	assert.Greater(t, bc.largest, 1, "a batch carried several packets")
	assert.GreaterOrEqual(t, bc.packets, msgs*size/int(initialMTU), "the data went through WriteBatch")
}
