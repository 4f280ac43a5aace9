// Package pagecache keeps rendered pages in memory until the data under
// them changes.
//
// PostgreSQL tells every app server about each committed change: a
// statement-level trigger on every table NOTIFYs channel ite_data_changed
// (migration 000008). Watch counts those notifications into a generation
// number; a page is only served from the cache at the generation it was
// rendered at, so a commit anywhere makes every older page unreachable on
// every app server. While Watch is not listening (not started, the
// connection was lost, or its heartbeats stopped coming back) the
// generation is unknown and nothing is served from the cache: a missed
// notification can never leave a page stale for more than a few seconds.
// The server's side (which pages, their keys, the placeholders, the
// sweeps) is internal/server/pagecache.go and sweeps.go; docs/PERFORMANCE.md
// says why the cache exists.
//
// # Invariants
//
// Each names the test that fails when it is broken.
//
//  1. Every table reports its commits, and only its commits: each table
//     but sessions and totp_steps (sign-in data no page shows; and
//     golang-migrate's schema_migrations) has the change
//     trigger, tables added by later migrations included
//     (internal/postgres TestEveryTableNotifiesChanges); a rolled-back
//     change sends nothing (TestCommitNotifiesRollbackDoesNot).
//  2. A page is served only at the generation it was stored at, and
//     nothing is served while the generation is unknown. A newer
//     generation empties the cache and a page of an older one is never
//     stored (TestCacheServesOnlyItsGeneration); a renewal never serves an
//     old page at a new generation (TestLookupServesExpiredPageWhileOneRenews);
//     any commit makes the server's pages unreachable
//     (internal/server TestPageCacheServesPerSessionAndForgetsOnCommit);
//     nothing is cached without a listener (TestPageCacheOffWithoutListener)
//     or while our own heartbeats do not come back, and another app
//     server's heartbeat is not a change (TestPageCacheOffWhileHeartbeatsDoNotComeBack).
//  3. What differs between two responses of one user is a placeholder in
//     the cached page, filled per response: the session's CSRF token and
//     the request ID (TestPageCacheServesPerSessionAndForgetsOnCommit: two
//     sessions of one user, each gets its own token and ID, and can post
//     with it) and each money form's idempotency key, or two tabs of one
//     cached page would submit as one (TestPageCacheGivesEachResponseItsOwnFormKey).
//  4. A cached page's handler writes nothing: a hit skips it, and a write
//     would also be a commit that empties the cache on every render. The
//     one write on the way to a cached page is its view's sweep (ended
//     notices closed), which the server runs before it asks the cache, so
//     a hit does not skip it; its commit is a new generation like any
//     other. A refusal may write (the audit row of a refused look) because
//     a refusal is never kept (internal/server TestCachedPagesNeverWrite:
//     every cached route as every role and as an enterprise that does not
//     own the application, on a fixture with a notice due; a commit heard
//     between the sweep's end and the response fails it, and so does a
//     refusal kept).
//  5. The writer sees their own change on the next page, before its
//     notification arrives: a browser that has just posted bypasses the
//     cache for a few seconds (TestPageCacheWriterSeesOwnChangeAtOnce).
//  6. The cache is bounded: an entry lives at most TTL (TestCacheExpires),
//     the pages held at most MaxBytes (TestCacheStaysWithinItsBytes), and
//     a page is rendered once per generation however many ask at once
//     (TestLookupRendersOncePerGeneration).
//  7. A sweep on view is skipped only while nothing can have fallen due:
//     same generation, same China day, not right after this browser's own
//     write, and the last run found nothing due
//     (internal/server TestSweepDueSkipsOnlyWhileNothingCanHaveChanged),
//     where an item another transaction holds counts as due
//     (TestEndedNoticeHeldElsewhereCountsAsDue). A sweep with an interval
//     (the staff's whole-portfolio report sweep) also runs at most that
//     often, the lifecycle job covering the rest
//     (TestSweepDueRunsAWholePortfolioSweepAtMostEveryMinute).
//  8. A figures cache keyed by Except's version keeps its figures across
//     commits to the tables it names and renews them after a commit to any
//     other or a reconnection (TestExceptMovesOnlyWithOtherTables). The
//     dashboard names the tables its figures never read (figuresIgnore in
//     internal/server/dashboard.go): a comment and its audit row keep its
//     figures, a new application renews them
//     (TestDashboardFiguresIgnoreUnrelatedCommits), and computing them
//     reads none of those tables except audit_log (its head, for the
//     version) and users (display names no figure shows)
//     (TestDashboardFiguresReadNoIgnoredTable).
//  9. A cached page goes only to the user it was rendered for, behind the
//     route's role gate: the key holds the user's ID, and the server wraps
//     a cached route's handler inside its gate. TestCachedPagesNeverWrite
//     asks each page twice as each user: the same status both times, and
//     every page shown carries the asking user's own name.
package pagecache

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channel is the NOTIFY channel of the change trigger.
const Channel = "ite_data_changed"

// Generations is the data generation as seen by this app server.
type Generations struct {
	n      atomic.Uint64
	live   atomic.Bool
	beat   atomic.Int64 // when our last heartbeat came back (Unix ns)
	epoch  atomic.Uint64
	tables sync.Map // table name → *atomic.Uint64: its changes, for Except
}

// Heartbeats prove that notifications are delivered, not only that LISTEN
// was accepted: a transaction-mode pooler accepts LISTEN and delivers
// nothing, and a half-open connection waits for ever. The generation is
// known only while our own heartbeat came back within staleAfter; one
// missing for reconnectAfter drops the connection and listens afresh.
const (
	heartbeatEvery = time.Second
	staleAfter     = 3 * time.Second
	reconnectAfter = 10 * time.Second
	heartbeatTag   = "ite-heartbeat:" // table names never start so
)

// Current returns the generation and whether it is known (Watch is
// listening and notifications arrive). Callers take it before reading the
// data they render, so a page is stored under a generation no newer than
// its data.
func (g *Generations) Current() (uint64, bool) {
	if !g.live.Load() || time.Since(time.Unix(0, g.beat.Load())) >= staleAfter {
		return 0, false
	}
	return g.n.Load(), true
}

// Bump starts a new generation: every page cached so far is stale.
func (g *Generations) Bump() { g.n.Add(1) }

// changed counts a commit to table: a new generation, and one more change
// of that table.
func (g *Generations) changed(table string) {
	c, _ := g.tables.LoadOrStore(table, new(atomic.Uint64))
	g.Bump() // before the table's count: see Except
	c.(*atomic.Uint64).Add(1)
}

// Version identifies the state of some of the data, for a cache of
// figures computed from it: equal versions, same data.
type Version struct{ epoch, n uint64 }

// Except returns the version of the data in every table but the ones
// named (those the cached figures never read): it moves with a commit to
// any other table, and with a reconnection, after which nothing is known.
// ok is false while the generation is unknown.
func (g *Generations) Except(tables ...string) (v Version, ok bool) {
	if _, ok := g.Current(); !ok {
		return v, false
	}
	// The tables' counts before the total (changed counts the other way
	// round): a commit counted in between can only make the version look
	// newer, never equal to an older one.
	var skip uint64
	for _, t := range tables {
		if c, found := g.tables.Load(t); found {
			skip += c.(*atomic.Uint64).Load()
		}
	}
	return Version{epoch: g.epoch.Load(), n: g.n.Load() - skip}, true
}

// Only returns the version of the data in the tables named (those the
// cached figures read, and nothing else): it moves with a commit to any
// of them, and with a reconnection. ok is false while the generation is
// unknown. Use it only where the set of tables read is derived from the
// statement itself (postgres.ToDoTables); Except is the safe choice for
// figures whose reads grow with the code.
func (g *Generations) Only(tables ...string) (v Version, ok bool) {
	if _, ok := g.Current(); !ok {
		return v, false
	}
	var n uint64
	for _, t := range tables {
		if c, found := g.tables.Load(t); found {
			n += c.(*atomic.Uint64).Load()
		}
	}
	return Version{epoch: g.epoch.Load(), n: n}, true
}

// Watch listens for change notifications until ctx ends, bumping g on
// each, and reconnects with backoff when the connection fails or stops
// delivering. connect opens a dedicated connection (LISTEN holds it for
// good, so it must not come from the pool); notify sends a notification on
// Channel another way (through the pool), for the heartbeats.
func Watch(ctx context.Context, g *Generations, connect func(context.Context) (*pgx.Conn, error),
	notify func(ctx context.Context, payload string) error, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := listen(ctx, g, connect, notify, func() { backoff = 100 * time.Millisecond })
		g.live.Store(false)
		if ctx.Err() != nil {
			return
		}
		log.Warn("page cache: change notifications lost, pages are rendered uncached until reconnected", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// errSilent is why a connection that stopped delivering was dropped.
var errSilent = errors.New("no heartbeat came back")

// listen runs one connection: LISTEN, heartbeats, and a bump on every
// notification that is not a heartbeat.
func listen(ctx context.Context, g *Generations, connect func(context.Context) (*pgx.Conn, error),
	notify func(context.Context, string) error, delivering func()) error {
	conn, err := connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	lctx, drop := context.WithCancelCause(ctx)
	defer drop(nil)
	// Whatever changed while nobody listened is unknown: start afresh.
	g.epoch.Add(1)
	g.Bump()
	own := heartbeatTag + strconv.FormatInt(rand.Int64(), 36)
	listening := time.Now()
	go heartbeats(lctx, g, notify, own, listening, drop)
	for {
		n, err := conn.WaitForNotification(lctx)
		if err != nil {
			if cause := context.Cause(lctx); cause != nil && ctx.Err() == nil {
				return cause
			}
			return err
		}
		switch {
		case n.Payload == own:
			g.beat.Store(time.Now().UnixNano())
			if !g.live.Swap(true) {
				delivering()
			}
		case strings.HasPrefix(n.Payload, heartbeatTag): // another app server's
		default:
			g.changed(n.Payload)
		}
	}
}

// heartbeats sends one heartbeat at once and then every heartbeatEvery,
// and drops the connection when none has come back for reconnectAfter.
func heartbeats(ctx context.Context, g *Generations, notify func(context.Context, string) error, own string,
	listening time.Time, drop context.CancelCauseFunc) {
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	for {
		_ = notify(ctx, own) // a failure shows as a heartbeat that does not come back
		last := time.Unix(0, g.beat.Load())
		if last.Before(listening) {
			last = listening
		}
		if time.Since(last) > reconnectAfter {
			drop(errSilent)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Cache holds rendered pages of one generation, bounded in bytes. An entry
// also expires after TTL, which bounds how long a page that shows the time
// (ages, deadlines) can lag behind the clock.
type Cache struct {
	TTL      time.Duration
	MaxBytes int
	Now      func() time.Time

	mu       sync.Mutex
	gen      uint64
	entries  map[string]entry
	bytes    int
	inFlight map[string]*flight
}

// flight is a page being rendered; others asking for it wait for it.
type flight struct {
	gen  uint64
	done chan struct{}
	body []byte // nil when the page turned out not to be cacheable
}

type entry struct {
	body    []byte
	expires time.Time
}

// New returns a cache of at most maxBytes of pages, each kept at most ttl.
func New(ttl time.Duration, maxBytes int) *Cache {
	return &Cache{TTL: ttl, MaxBytes: maxBytes, Now: time.Now}
}

// Lookup returns the page stored under key at generation gen, if fresh.
// On a miss the caller renders the page and must call fill exactly once,
// with the page, or with nil when it is not to be cached.
//
// Concurrent lookups of a page being rendered do not render it again: a
// page that only outlived its TTL (the data did not change) is served as
// it was to everyone but the one renewing it; a page that is not there
// yet (say, just invalidated, when everyone asks for it at once) is waited
// for, and when it turns out not cacheable the waiters get a miss with a
// fill that does nothing and render their own.
func (c *Cache) Lookup(key string, gen uint64) (page []byte, hit bool, fill func([]byte)) {
	c.mu.Lock()
	e, stored := c.entries[key]
	stored = stored && c.gen == gen
	if stored && c.Now().Before(e.expires) {
		c.mu.Unlock()
		return e.body, true, nil
	}
	if f, ok := c.inFlight[key]; ok && f.gen == gen {
		c.mu.Unlock()
		if stored {
			return e.body, true, nil
		}
		<-f.done
		if f.body != nil {
			return f.body, true, nil
		}
		return nil, false, func([]byte) {}
	}
	f := &flight{gen: gen, done: make(chan struct{})}
	if c.inFlight == nil {
		c.inFlight = map[string]*flight{}
	}
	c.inFlight[key] = f
	c.mu.Unlock()
	var once sync.Once
	return nil, false, func(body []byte) {
		once.Do(func() {
			if body != nil {
				c.Put(key, gen, body)
			}
			c.mu.Lock()
			if c.inFlight[key] == f {
				delete(c.inFlight, key)
			}
			c.mu.Unlock()
			f.body = body
			close(f.done)
		})
	}
}

// Put stores body under key at generation gen. A page of an older
// generation than the cache's is dropped; a newer generation empties the
// cache first. When full, arbitrary entries make room: the cache only
// saves work, it never decides what is shown.
func (c *Cache) Put(key string, gen uint64, body []byte) {
	if len(body) > c.MaxBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case gen < c.gen:
		return
	case gen > c.gen || c.entries == nil:
		c.gen, c.entries, c.bytes = gen, map[string]entry{}, 0
	}
	if old, ok := c.entries[key]; ok {
		delete(c.entries, key)
		c.bytes -= len(old.body)
	}
	for k, e := range c.entries {
		if c.bytes+len(body) <= c.MaxBytes {
			break
		}
		delete(c.entries, k)
		c.bytes -= len(e.body)
	}
	c.entries[key] = entry{body: body, expires: c.Now().Add(c.TTL)}
	c.bytes += len(body)
}

// Len reports the number of pages held (tests observe the cache by it).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
