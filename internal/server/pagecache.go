package server

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"ite/internal/day"
	"ite/web/layout"
)

// The page cache (package pagecache) serves the busiest pages from
// memory: the queue, the application page, the journal and the dashboard
// are read far more often than anything under them changes. A page is
// cached per user, China day and URL at the data generation it was
// rendered at; any commit to the database makes it unreachable on every
// app server.
//
// The invariants are listed, each with the test that guards it, in
// package pagecache's doc. Those this file keeps:
//
//   - Per-response values are placeholders (invariant 3): a cached page
//     is rendered with placeholders for the session's CSRF token, the
//     request ID and each money form's idempotency key, filled in on every
//     response (withPlaceholders, fillPlaceholders).
//   - A cached page's handler writes nothing (invariant 4). A hit skips
//     the handler, so what must happen on every view cannot happen there:
//     a view's sweep runs in cached, before the cache is asked (sweepFirst);
//     a refusal's audit row goes with a refusal, which is never kept.
//   - The writer sees their own change at once (invariant 5): a browser
//     that has just posted carries freshCookie and bypasses the cache
//     (markFresh).
//   - A page goes only to its user, through the role gate (invariant 9):
//     cached sits behind the route's gate (buildRouter) and the key holds
//     the user's ID.

const (
	pageTTL        = 10 * time.Second // bounds how far shown ages and "today" lag the clock
	pageCacheBytes = 64 << 20
	// freshFor is how long after a write the writer bypasses the cache, so
	// the page they are redirected to shows their change even before the
	// change notification reaches this app server.
	freshFor    = 3 * time.Second
	freshCookie = "ite_fresh"
)

// Placeholders stand in a cached page for what must differ per response.
// Their common prefix is random per process, so no text a user writes
// (a title, a comment) can contain one and be rewritten.
var (
	placeholderPrefix    = []byte("ite-" + randomHex(8) + "-")
	csrfPlaceholder      = append(slices.Clip(placeholderPrefix), "csrf"...)
	requestIDPlaceholder = append(slices.Clip(placeholderPrefix), "rid"...)
	// formKeyPlaceholder is a form's idempotency key (newFormKey): each one
	// in a page becomes a fresh key per response, or two tabs showing one
	// cached page would submit as one.
	formKeyPlaceholder = append(slices.Clip(placeholderPrefix), "key"...)
)

// ctxCacheRender marks a render whose output goes into the cache.
type ctxCacheRender struct{}

// cachedPages are the routes served through the page cache: GET pages
// whose content depends only on the user, the URL, the data and the day,
// and whose handler writes nothing (TestCachedPagesNeverWrite walks them
// all as every role); a sweep the view needs goes in sweepFirst.
//
// "/" is each role's to-do home page: its ListToDo costs a few hundred ms
// with tens of thousands of applications (docs/PERFORMANCE.md, "To-do
// lists"), and every sign-in lands there.
var cachedPages = map[string]bool{
	"/":                  true,
	"/applications":      true,
	"/applications/{id}": true,
	"/ledger/journal":    true,
	"/dashboard":         true,
}

// sweepFirst is the sweep a cached page's view runs (sweeps.go), or nil.
// cached runs it before asking the cache, so a hit never skips it and the
// handler itself writes nothing. That is safe because a sweep changes
// only what time has made due and its commit is a new generation like
// any other; the request whose sweep found something due renders its
// page afresh, so it shows what its sweep did even before that
// generation's notification arrives.
func (s *Server) sweepFirst(pattern string) *viewSweep {
	switch pattern {
	case "/applications/{id}", "/":
		return &s.notices // an ended notice changes the page's state and next step (the home page: "agreement to sign")
	}
	return nil
}

// cached serves h's page from the cache when it can, and fills the cache
// when it renders a plain 200 page. The route's sweep (sweepFirst) runs
// first, hit or miss.
func (s *Server) cached(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if sw := s.sweepFirst(chi.RouteContext(r.Context()).RoutePattern()); sw != nil {
			due, err := s.sweep(r, sw)
			if err != nil {
				return err
			}
			if due {
				return h(w, r) // afresh: what the sweep did, before its notification
			}
		}
		key, gen, ok := s.pageKey(r)
		if !ok {
			return h(w, r)
		}
		page, hit, fill := s.pages.Lookup(key, gen)
		if hit {
			return s.writePage(w, r, page)
		}
		defer fill(nil) // whatever happens below, nobody waits for ever
		rec := &pageRecorder{header: http.Header{}}
		err := h(rec, r.WithContext(withPlaceholders(r.Context())))
		if err == nil && rec.status == http.StatusOK && rec.header.Get("Set-Cookie") == "" {
			// A cached page is the body only: headers the handler set go
			// out with this response but not with later hits.
			fill(rec.body.Bytes())
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			return s.writePage(w, r, rec.body.Bytes())
		}
		fill(nil)
		if err != nil {
			return err
		}
		// Anything else (a redirect, a cookie) goes out as the handler
		// wrote it, placeholders filled, and is not kept.
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		body := fillPlaceholders(r, rec.body.Bytes())
		w.Header().Set("Content-Length", strconv.Itoa(len(body))) // the placeholders changed the length render set
		w.WriteHeader(rec.status)
		_, err = w.Write(body)
		return err
	}
}

// justWrote says the browser has just written (freshCookie): its pages
// then read afresh, so a writer sees its own change at once.
func justWrote(r *http.Request) bool {
	c, err := r.Cookie(freshCookie)
	return err == nil && c.Value != ""
}

// pageKey is the cache key of r and the generation to look it up at; ok
// is false when r must be rendered afresh: the cache is off or not
// listening, a flash is to be shown, the user has just written, or htmx
// asks for a fragment.
func (s *Server) pageKey(r *http.Request) (key string, gen uint64, ok bool) {
	if !s.PageCache || r.Method != http.MethodGet || r.Header.Get("HX-Request") != "" {
		return "", 0, false
	}
	u := currentUser(r)
	if u == nil || layout.FromContext(r.Context()).Flash.Message != "" {
		return "", 0, false
	}
	if justWrote(r) {
		return "", 0, false
	}
	if gen, ok = s.gens.Current(); !ok {
		return "", 0, false
	}
	day := day.Today(s.Now()).Format("20060102")
	return strconv.FormatInt(u.ID, 10) + " " + day + " " + r.URL.RequestURI(), gen, true
}

// writePage sends a cached page with this request's token and ID.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, page []byte) error {
	body := fillPlaceholders(r, page)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(body)
	return err
}

// fillPlaceholders puts this request's CSRF token and ID into a page, in
// one pass (a page carries the token in every form).
func fillPlaceholders(r *http.Request, page []byte) []byte {
	info := layout.FromContext(r.Context())
	out := make([]byte, 0, len(page)+256)
	for {
		i := bytes.Index(page, placeholderPrefix)
		if i < 0 {
			return append(out, page...)
		}
		out = append(out, page[:i]...)
		page = page[i:]
		switch {
		case bytes.HasPrefix(page, csrfPlaceholder):
			out = append(out, info.CSRFToken...)
			page = page[len(csrfPlaceholder):]
		case bytes.HasPrefix(page, requestIDPlaceholder):
			out = append(out, info.RequestID...)
			page = page[len(requestIDPlaceholder):]
		case bytes.HasPrefix(page, formKeyPlaceholder):
			out = append(out, newFormKey(r.Context())...)
			page = page[len(formKeyPlaceholder):]
		default:
			out = append(out, placeholderPrefix...)
			page = page[len(placeholderPrefix):]
		}
	}
}

// withPlaceholders gives the layout placeholders instead of the session's
// CSRF token and the request ID, and newFormKey a placeholder instead of a
// key.
func withPlaceholders(ctx context.Context) context.Context {
	info := *layout.FromContext(ctx)
	info.CSRFToken = string(csrfPlaceholder)
	info.RequestID = string(requestIDPlaceholder)
	return context.WithValue(layout.WithRequest(ctx, &info), ctxCacheRender{}, true)
}

// pageRecorder captures a handler's response.
type pageRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (p *pageRecorder) Header() http.Header { return p.header }

func (p *pageRecorder) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

func (p *pageRecorder) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return p.body.Write(b)
}

// markFresh tells the cache that this signed-in browser has just written
// (see freshFor). Signing in is not such a write: nothing cached is theirs.
// The generation's other caches (to-do counts, reference lists, sweeps)
// honour it too, so it is set whenever the generation is known, page
// cache or not.
func (s *Server) markFresh(w http.ResponseWriter, r *http.Request) {
	_, live := s.gens.Current()
	if (s.PageCache || live) && sessionFrom(r.Context()) != nil {
		s.setCookie(w, r, freshCookie, "1", freshFor)
	}
}
