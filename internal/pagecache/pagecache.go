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

// Get returns the page stored under key at generation gen, if fresh.
func (c *Cache) Get(key string, gen uint64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.get(key, gen)
}

func (c *Cache) get(key string, gen uint64) ([]byte, bool) {
	if c.gen != gen {
		return nil, false
	}
	e, ok := c.entries[key]
	if !ok || !c.Now().Before(e.expires) {
		return nil, false
	}
	return e.body, true
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

// Len reports the number of pages held (for tests and metrics).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
