package server

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"ite/internal/applications"
	"ite/internal/postgres"
)

// refCache keeps the reference data the busiest pages read on every view
// (the programmes, the staff list for the liaison drop-down, the expert
// pool and the default review deadline of the panel form, the
// dashboard's programme years) for one data generation (pagecache.Generations): any commit anywhere starts a new
// one, so a value is never older than the last commit this app server
// has heard of, as with a page from the page cache. Without a known
// generation, in a request that may have written (not a GET), or right
// after this browser's own write (freshCookie), nothing is kept or
// reused. It saves two or three round trips a page
// on the miss path (docs/PERFORMANCE.md, "The miss path";
// TestPageQueryCounts). A value that depends on the day as well has the
// China day in its key (TestDefaultDeadlineHintFollowsCalendarAndDay).
//
// Values are shared between requests: callers read them, never change
// them.
type refCache struct {
	mu   sync.Mutex
	gen  uint64
	vals map[string]any
	// flights are the loads in progress, by key and generation: after a
	// commit every concurrent view misses at once, and they share one
	// load instead of each sending it (TestCachedRefLoadsOncePerGeneration).
	flights singleflight.Group
}

// lookup returns key's value if it is held at generation gen.
func (c *refCache) lookup(key string, gen uint64) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.vals[key]
	return v, ok && c.gen == gen
}

// store keeps v as key's value at generation gen, unless a newer
// generation's values are there already.
func (c *refCache) store(key string, gen uint64, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.vals == nil {
		if c.gen > gen && c.vals != nil {
			return
		}
		c.gen, c.vals = gen, map[string]any{}
	}
	c.vals[key] = v
}

// cachedRef returns the value of key at the current generation, loading
// it with load on a miss. The generation is taken before the load, so a
// value is stored under a generation no newer than its data. Concurrent
// misses of one key and generation share one load, as the to-do counts'
// do (todoFlights): it runs without the first asker's cancellation
// (another may still want it) but within refLoadTimeout, and each asker
// waits only as long as its own request.
func cachedRef[T any](s *Server, r *http.Request, key string, load func(context.Context) (T, error)) (T, error) {
	gen, live := s.gens.Current()
	if justWrote(r) || r.Method != http.MethodGet {
		// A POST may render after its own commit, before the commit's
		// notification has moved the generation.
		live = false
	}
	if !live {
		return load(r.Context())
	}
	c := &s.refs
	if v, ok := c.lookup(key, gen); ok {
		return v.(T), nil
	}
	done := c.flights.DoChan(key+"\x00"+strconv.FormatUint(gen, 10), func() (any, error) {
		// A flight that starts just after another one ended finds its
		// value stored.
		if v, ok := c.lookup(key, gen); ok {
			return v, nil
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), refLoadTimeout)
		defer cancel()
		v, err := load(ctx)
		if err == nil {
			c.store(key, gen, v)
		}
		return v, err
	})
	var zero T
	select {
	case res := <-done:
		if res.Err != nil {
			return zero, res.Err
		}
		v, _ := res.Val.(T) // a nil value (of an interface T) is the zero T
		return v, nil
	case <-r.Context().Done():
		return zero, r.Context().Err()
	}
}

// refLoadTimeout bounds a shared reference load, which no one request's
// cancellation ends.
const refLoadTimeout = 30 * time.Second

// listProgrammes is DB.ListProgrammes through the reference cache.
func (s *Server) listProgrammes(r *http.Request, openOnly bool) ([]applications.Programme, error) {
	return cachedRef(s, r, "programmes "+strconv.FormatBool(openOnly), func(ctx context.Context) ([]applications.Programme, error) {
		return s.DB.ListProgrammes(ctx, openOnly)
	})
}

// findProgramme is DB.FindProgramme through the reference cache.
func (s *Server) findProgramme(r *http.Request, id int64) (applications.Programme, error) {
	return cachedRef(s, r, "programme "+strconv.FormatInt(id, 10), func(ctx context.Context) (applications.Programme, error) {
		return s.DB.FindProgramme(ctx, id)
	})
}

// listStaffMembers is DB.ListStaffMembers through the reference cache.
func (s *Server) listStaffMembers(r *http.Request) ([]postgres.StaffMember, error) {
	return cachedRef(s, r, "staff", func(ctx context.Context) ([]postgres.StaffMember, error) {
		return s.DB.ListStaffMembers(ctx)
	})
}

// listExperts is DB.ListExperts through the reference cache (the panel
// form's drop-down on every application under review).
func (s *Server) listExperts(r *http.Request) ([]postgres.Expert, error) {
	return cachedRef(s, r, "experts", func(ctx context.Context) ([]postgres.Expert, error) {
		return s.DB.ListExperts(ctx)
	})
}
