package server

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"ite/internal/day"
	"ite/web/layout"
)

// The page cache (package pagecache) serves the busiest pages from
// memory: the queue, the application page and the journal are read far
// more often than anything under them changes. A page is cached per user
// and URL at the data generation it was rendered at; any commit to the
// database makes it unreachable on every app server.
//
// What a cached page must not carry is what differs between two requests
// of the same user at the same generation: the session's CSRF token and the
// request ID. The page is rendered with placeholders for both, and they
// are filled in on every response.
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
// and whose handler writes nothing that must happen on every view.
var cachedPages = map[string]bool{
	"/applications":      true,
	"/applications/{id}": true,
	"/ledger/journal":    true,
	"/dashboard":         true,
}

// cached serves h's page from the cache when it can, and fills the cache
// when it renders a plain 200 page.
func (s *Server) cached(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
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
		w.WriteHeader(rec.status)
		_, err = w.Write(fillPlaceholders(r, rec.body.Bytes()))
		return err
	}
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
	if c, err := r.Cookie(freshCookie); err == nil && c.Value != "" {
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
func (s *Server) markFresh(w http.ResponseWriter, r *http.Request) {
	if s.PageCache && sessionFrom(r.Context()) != nil {
		s.setCookie(w, r, freshCookie, "1", freshFor)
	}
}
