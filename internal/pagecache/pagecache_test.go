package pagecache

import (
	"strings"
	"testing"
	"time"
)

// lookup asks c for key at gen as the server does (Lookup) and reports a
// hit; a miss is filled with nothing, so it leaves no render in flight
// and stores nothing.
func lookup(c *Cache, key string, gen uint64) ([]byte, bool) {
	body, hit, fill := c.Lookup(key, gen)
	if !hit {
		fill(nil)
	}
	return body, hit
}

func TestCacheServesOnlyItsGeneration(t *testing.T) {
	c := New(time.Minute, 1<<20)
	c.Put("a", 3, []byte("page a"))
	if got, ok := lookup(c, "a", 3); !ok || string(got) != "page a" {
		t.Fatalf("Lookup at the same generation = %q, %v", got, ok)
	}
	if _, ok := lookup(c, "a", 4); ok {
		t.Fatal("a page was served at a newer generation")
	}
	c.Put("b", 4, []byte("page b"))
	if _, ok := lookup(c, "a", 3); ok || c.Len() != 1 {
		t.Fatalf("a newer generation did not empty the cache (len %d)", c.Len())
	}
	c.Put("old", 3, []byte("rendered before the change"))
	if _, ok := lookup(c, "old", 3); ok || c.Len() != 1 {
		t.Fatal("a page of an older generation was stored")
	}
}

func TestCacheExpires(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	c := New(10*time.Second, 1<<20)
	c.Now = func() time.Time { return now }
	c.Put("a", 1, []byte("page"))
	now = now.Add(9 * time.Second)
	if _, ok := lookup(c, "a", 1); !ok {
		t.Fatal("expired too early")
	}
	now = now.Add(time.Second)
	if _, ok := lookup(c, "a", 1); ok {
		t.Fatal("served after its TTL")
	}
}

func TestCacheStaysWithinItsBytes(t *testing.T) {
	c := New(time.Minute, 8*1000)
	page := []byte(strings.Repeat("x", 1000))
	for i := range 100 {
		c.Put(string(rune('A'+i)), 1, page)
		if c.bytes > c.MaxBytes {
			t.Fatalf("after %d puts the cache holds %d bytes, more than %d", i+1, c.bytes, c.MaxBytes)
		}
	}
	if c.Len() != 8 {
		t.Fatalf("cache holds %d pages, want 8", c.Len())
	}
	c.Put("same", 1, page)
	c.Put("same", 1, page) // replacing a page does not count it twice
	if c.bytes != 8*1000 {
		t.Fatalf("bytes = %d after replacing a page", c.bytes)
	}
	c.Put("huge", 1, make([]byte, 2000)) // more than an eighth: never kept
	if _, ok := lookup(c, "huge", 1); ok {
		t.Fatal("a page larger than an eighth of the cache was kept")
	}
}

func TestLookupRendersOncePerGeneration(t *testing.T) {
	c := New(time.Minute, 1<<20)
	_, hit, fill := c.Lookup("a", 1)
	if hit {
		t.Fatal("hit in an empty cache")
	}
	got := make(chan string, 3)
	for range 3 {
		go func() {
			body, hit, _ := c.Lookup("a", 1) // waits for the first render
			if !hit {
				got <- "miss"
				return
			}
			got <- string(body)
		}()
	}
	time.Sleep(20 * time.Millisecond)
	fill([]byte("page"))
	for range 3 {
		if v := <-got; v != "page" {
			t.Fatalf("a waiting lookup got %q", v)
		}
	}

	// Not cacheable: the waiters render their own.
	_, _, fill = c.Lookup("b", 1)
	waiter := make(chan bool)
	go func() {
		_, hit, fill := c.Lookup("b", 1)
		fill([]byte("ignored"))
		waiter <- hit
	}()
	time.Sleep(20 * time.Millisecond)
	fill(nil)
	fill([]byte("a second fill is ignored"))
	if <-waiter {
		t.Fatal("a waiter got a hit for a page that was not cached")
	}
	if _, ok := lookup(c, "b", 1); ok {
		t.Fatal("a page that was not cacheable was stored")
	}
}

func TestLookupServesExpiredPageWhileOneRenews(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	c := New(10*time.Second, 1<<20)
	c.Now = func() time.Time { return now }
	c.Put("a", 1, []byte("old"))
	now = now.Add(11 * time.Second)
	_, hit, fill := c.Lookup("a", 1)
	if hit {
		t.Fatal("an expired page was a hit for the first asker")
	}
	if body, hit, _ := c.Lookup("a", 1); !hit || string(body) != "old" {
		t.Fatalf("while renewing, others got %q, %v; want the expired page", body, hit)
	}
	fill([]byte("new"))
	if body, hit, _ := c.Lookup("a", 1); !hit || string(body) != "new" {
		t.Fatalf("after renewal got %q, %v", body, hit)
	}
	// At a new generation an old page is never served, renewing or not.
	_, _, fill = c.Lookup("a", 2)
	done := make(chan string)
	go func() { body, _, _ := c.Lookup("a", 2); done <- string(body) }()
	time.Sleep(20 * time.Millisecond)
	fill([]byte("generation 2"))
	if got := <-done; got != "generation 2" {
		t.Fatalf("a waiter at a new generation got %q", got)
	}
}

func TestExceptMovesOnlyWithOtherTables(t *testing.T) {
	var g Generations
	g.live.Store(true)
	g.beat.Store(time.Now().UnixNano())
	v0, ok := g.Except("audit_log", "application_comments")
	if !ok {
		t.Fatal("a live generation is unknown")
	}
	g.changed("audit_log")
	g.changed("application_comments")
	if v, _ := g.Except("audit_log", "application_comments"); v != v0 {
		t.Fatal("a commit to an excluded table moved the version")
	}
	g.changed("applications")
	v1, _ := g.Except("audit_log", "application_comments")
	if v1 == v0 {
		t.Fatal("a commit to another table did not move the version")
	}
	g.epoch.Add(1) // a reconnection: nothing is known
	if v, _ := g.Except("audit_log", "application_comments"); v == v1 {
		t.Fatal("a reconnection did not move the version")
	}
	g.live.Store(false)
	if _, ok := g.Except(); ok {
		t.Fatal("a version without a listener")
	}
}

func TestOnlyMovesOnlyWithItsTables(t *testing.T) {
	var g Generations
	g.live.Store(true)
	g.beat.Store(time.Now().UnixNano())
	v0, ok := g.Only("applications", "decisions")
	if !ok {
		t.Fatal("a live generation is unknown")
	}
	g.changed("audit_log")
	g.changed("application_comments")
	if v, _ := g.Only("applications", "decisions"); v != v0 {
		t.Fatal("a commit to another table moved the version")
	}
	g.changed("decisions")
	v1, _ := g.Only("applications", "decisions")
	if v1 == v0 {
		t.Fatal("a commit to a named table did not move the version")
	}
	g.epoch.Add(1)
	if v, _ := g.Only("applications", "decisions"); v == v1 {
		t.Fatal("a reconnection did not move the version")
	}
	g.live.Store(false)
	if _, ok := g.Only("applications"); ok {
		t.Fatal("a version without a listener")
	}
}
