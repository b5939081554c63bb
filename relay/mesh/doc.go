// Package mesh joins relays into a cluster on NATS: they know each other
// (membership), and their caches make one cache tier, so the origin sees
// each file and chunk once per cluster rather than once per relay. NATS
// (an existing deployment, or a server embedded in each relay with routes
// between them) carries everything; nothing here is a cluster protocol of
// its own beyond the few messages below.
//
// Membership. Every relay publishes an announcement (id, public URL,
// region, load: peers and egress bytes, start time) on
// "p2pcache.v1.members" every Config.AnnounceInterval (1 s), at once when
// it joins or reconnects (a "join", which every member answers with its
// own announcement, so a newcomer knows the cluster within one round
// trip), and when it leaves (members drop it at once). A relay not heard
// from for Config.Expiry (3 s) is dropped. Times are those at which
// announcements arrive, on each relay's own clock: the clocks need not
// agree. A relay that loses NATS is alone until it is back.
//
// Ownership. Every key has an owner among the live members: rendezvous
// (highest random weight) hashing, Owners, over the member ids, of the
// chunk's hash (ChunkKey) or "manifest:" and the file's path
// (ManifestKey). All relays that see the same members agree on owners
// without talking, and a relay that comes or goes moves only its own
// share of the keys (1/N): the rest keep their owner and their cached
// copy.
//
// The tier. A Mesh is a cache.Tier. On a manifest miss the cache asks the
// path's owner, and on a chunk miss (after its own peers) the chunk's
// owner, over NATS request/reply on the owner's subjects
// "p2pcache.v1.relay.<id>.manifest" and ".chunk". The owner answers
// through its own cache (LRU, peers, origin, with its singleflight), so
// however many relays miss at once, the origin is asked once. A chunk's
// owner need not be its file's: it gets the manifest from the file's
// owner (through its cache, so once), and on its own miss it peeks at the
// file's owner, who read the whole file to build the manifest and may
// hold the chunk still, before the origin. A relay asks only relays
// ranked before itself for the key, and stops at itself: the owner (as it
// sees the members) does not ask the tier, and its cache goes to the
// origin. Ranks are one total order for every relay (score, then id), so
// even while relays disagree on the members (one just came or went), a
// chain of requests climbs that order and cannot come back: relays never
// wait on each other in a cycle.
//
// Everything from another relay is checked: a manifest must validate and
// be the one asked for, a chunk must hash to the manifest's entry. A
// relay whose answer fails gets a strike; at Config.Strikes (1) it is
// excluded for Config.ExcludeFor (10 min): neither asked nor given
// ownership by this relay, like a lying peer.
//
// Failure. A request waits for the owner's first answer (an ACK, or the
// answer itself) 3 × the smoothed round trip to that owner, within
// [TimeoutMin, TimeoutMax] (250 ms, 1 s); an owner that is fetching sends
// WORKING every Config.Heartbeat (250 ms), and the requester gives up
// after two heartbeats of silence. A relay with no subscription answers
// at once (NATS's "no responders"). An owner that timed out or was
// unreachable is skipped for Config.SuspectFor, and its next owner in
// rendezvous order asked, up to Config.Tries owners, then the origin.
// While NATS is down the tier answers "miss" at once: every relay serves
// alone, from its origin. The NATS client reconnects forever and the
// relay rejoins by itself.
//
// Messages (see msg.go and PROTOCOL.md): requests are JSON of a few
// hundred bytes; answers are a version byte, a kind byte and a body of at
// most MaxPart (64 KiB), so a chunk is one message and a manifest of more
// than about a thousand chunks is several.
package mesh
