package server

import (
	"context"
	"net/http"
	"strconv"
	"sync"

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
}

// cachedRef returns the value of key at the current generation, loading
// it with load on a miss. The generation is taken before the load, so a
// value is stored under a generation no newer than its data.
func cachedRef[T any](s *Server, r *http.Request, key string, load func(context.Context) (T, error)) (T, error) {
	gen, live := s.gens.Current()
	if justWrote(r) || r.Method != http.MethodGet {
		// A POST may render after its own commit, before the commit's
		// notification has moved the generation.
		live = false
	}
	c := &s.refs
	if live {
		c.mu.Lock()
		v, ok := c.vals[key]
		ok = ok && c.gen == gen
		c.mu.Unlock()
		if ok {
			return v.(T), nil
		}
	}
	v, err := load(r.Context())
	if err != nil || !live {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.vals == nil {
		if c.gen > gen && c.vals != nil {
			return v, nil // a newer generation's values are there already
		}
		c.gen, c.vals = gen, map[string]any{}
	}
	c.vals[key] = v
	return v, nil
}

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
