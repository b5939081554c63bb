// Package portmux serves ICE-TCP, HTTPS and HTTP on one TCP listener, so a
// relay on :443 needs one open port and nothing in front of it.
//
// # How a connection is told apart
//
// Every protocol the relay speaks on TCP starts with the client talking, and
// their first bytes never agree:
//
//   - ICE-TCP (RFC 6544) frames each packet with a 2-byte length (RFC 4571),
//     and the first packet is a STUN binding request: message type 0x0001,
//     a length that is the frame's less the 20-byte header, and the magic
//     cookie 0x2112A442 (RFC 5389). Ten bytes prove it.
//   - TLS starts with a handshake record: 0x16, then version 0x03 0x00-0x04.
//   - HTTP/1.x starts with a method and a space: "GET ", "OPTIONS ".
//
// Classify decides from the fewest bytes that settle it: at most MaxPeek
// (10), fewer for TLS (3) and HTTP (the method and its space). A frame
// length is capped at 2047 bytes (browsers' binding requests are a few
// hundred), so a STUN frame's first byte is 0x00-0x07 and never TLS's 0x16
// or an HTTP method's letter: the three patterns are disjoint, and once a
// prefix is decided no later byte changes the answer (FuzzClassify checks
// both).
//
// # Serving
//
// A Mux owns the real listener. Serve accepts, and for each connection a
// goroutine reads its first bytes under a deadline (Config.PeekTimeout: a
// client that sends nothing, or a byte at a time, is closed when it ends),
// classifies them and hands the connection, its first bytes replayed by
// Read, to the net.Listener of that protocol (Listener). A connection of a
// protocol nobody listens for, or of none (garbage), is closed. At most
// Config.MaxPending connections are being classified or handed over at once;
// past that Serve stops accepting until one is done (the kernel's backlog
// holds the rest), so a flood of silent connections costs bounded memory.
//
// The per-protocol listeners report the real listener's address, so pion's
// ICE-TCP mux (ice.NewTCPMuxDefault takes a net.Listener) advertises the
// shared port in its candidates with no change to the relay. Closing one of
// them stops its hand-overs only; Close on the Mux closes the real listener,
// every protocol listener and the connections still being classified, and
// waits for its goroutines.
package portmux
