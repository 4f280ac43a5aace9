// Package server is the HTTP layer: one route table, the middleware that
// every request passes (request ID, logging, security headers, session,
// CSRF, role gate), and handlers that parse, call the store or domain,
// and render a page.
package server

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"ite/internal/auth"
	"ite/internal/blob"
	"ite/internal/pagecache"
	"ite/internal/postgres"
	"ite/internal/suite"
	"ite/web/layout"
)

// Config is what the server needs from the outside world.
type Config struct {
	DB     *postgres.DB
	Logger *slog.Logger
	// Key signs pre-session CSRF tokens and flash cookies (32+ random
	// bytes; shared by every app server behind one load balancer).
	Key []byte
	// BaseURL is the public address; an https:// base marks cookies Secure.
	BaseURL string
	// Now is the clock; tests inject one to move time. Defaults to time.Now.
	Now func() time.Time
	// PasswordParams are the argon2id costs for new hashes (tests lower them).
	PasswordParams auth.Params
	// Programme is the display name of the programme (先投后股 by default).
	Programme string
	// Version is printed by /healthz.
	Version string
	// Blobs stores uploaded documents; MasterKey wraps the per-file keys of
	// sensitive ones (32 bytes), sealed with the algorithms Crypto chooses
	// (CRYPTO: AES-256-GCM by default, SM4-GCM under gm).
	Blobs     blob.Store
	MasterKey []byte
	Crypto    suite.Suite
	// MaxUploadBytes is the per-file limit (default 20 MiB).
	MaxUploadBytes int64
	// PageCache serves the busiest pages from memory until the data under
	// them changes (see pagecache.go). It takes effect once RunJobs is
	// listening for changes. Off, only the pages are not kept: RunJobs
	// still listens, for the smaller caches that also go by the data
	// generation (to-do counts, reference lists, dashboard figures, view
	// sweeps' memory), which a rendered page needs either way.
	PageCache bool
	// AnchorKey signs the chain anchors (anchors.go); kept outside the
	// database. Nil disables anchoring. AnchorDir receives a copy of each
	// anchor ("" for none).
	AnchorKey ed25519.PrivateKey
	AnchorDir string
}

func (s *Server) maxUpload() int64 {
	if s.MaxUploadBytes > 0 {
		return s.MaxUploadBytes
	}
	return blob.DefaultMaxBytes
}

// Server holds the dependencies of the handlers.
type Server struct {
	Config
	router chi.Router
	// menu is each role's navigation, built from the route table (menu.go).
	menu layout.Menu
	cop  *http.CrossOriginProtection
	// gens and pages are the page cache (pagecache.go); figures caches the
	// dashboard's computed views (dashboard.go).
	gens    pagecache.Generations
	pages   *pagecache.Cache
	figures *dashboardCache
	// todoCache keeps each user's to-do counts for the menu, and
	// todoLists each user's home page lists, by version of the tables they
	// read (home.go); todoFlights are those being read.
	todoCache, todoLists, todoFlights sync.Map
	// refs keeps reference data (programmes, staff) per generation
	// (refcache.go).
	refs refCache
	// notices, lapses and reports are the sweeps views run on access, each
	// with its memory of when it last found nothing due (sweeps.go).
	notices, lapses, reports viewSweep
}

// New builds the server and its router.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PasswordParams.Memory == 0 {
		cfg.PasswordParams = auth.DefaultParams
	}
	if cfg.Programme == "" {
		cfg.Programme = "先投后股"
	}
	s := &Server{Config: cfg, cop: http.NewCrossOriginProtection(), pages: pagecache.New(pageTTL, pageCacheBytes),
		figures: newDashboardCache()}
	s.pages.Now = cfg.Now
	s.initSweeps()
	s.router = s.buildRouter()
	return s
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Router exposes the chi router so tests can walk every route.
func (s *Server) Router() chi.Router { return s.router }

// Housekeeping intervals and the blob sweeper's grace period.
const (
	sessionSweepEvery = 5 * time.Minute
	blobSweepEvery    = time.Hour
	// blobGrace must lie well beyond the longest upload: a blob whose
	// upload is still streaming, or whose row is about to commit, has no
	// row yet and must not be taken for an orphan.
	blobGrace = 24 * time.Hour
)

// RunJobs runs periodic housekeeping until ctx ends: expired sessions are
// swept every few minutes, orphaned document blobs every hour.
func (s *Server) RunJobs(ctx context.Context) {
	// Always, not only with the page cache: without a known generation
	// every page would recount the to-do lists and re-run its view sweep
	// (about 20 ms of a 100,000-application database per request;
	// docs/PERFORMANCE.md, "The miss path").
	go s.WatchChanges(ctx)
	sessions := time.NewTicker(sessionSweepEvery)
	defer sessions.Stop()
	blobs := time.NewTicker(blobSweepEvery)
	defer blobs.Stop()
	lifecycle := time.NewTicker(lifecycleEvery)
	defer lifecycle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-lifecycle.C:
			s.runLifecycle(ctx)
		case <-sessions.C:
			if n, err := s.DB.SweepSessions(ctx); err != nil {
				s.Logger.Error("sweep sessions", "err", err)
			} else if n > 0 {
				s.Logger.Info("swept sessions", "count", n)
			}
		case <-blobs.C:
			if n, err := s.sweepBlobs(ctx); err != nil {
				s.Logger.Error("sweep blobs", "err", err, "deleted", n)
			} else if n > 0 {
				s.Logger.Info("swept blobs", "count", n)
			}
		}
	}
}

// WatchChanges keeps the page cache's generation until ctx ends. RunJobs
// starts it; the browser tests start it alone to run as production does.
func (s *Server) WatchChanges(ctx context.Context) {
	notify := func(ctx context.Context, payload string) error { return s.DB.Notify(ctx, pagecache.Channel, payload) }
	pagecache.Watch(ctx, &s.gens, s.DB.Connect, notify, s.Logger)
}

// sweepBlobs deletes document blobs that no document row references and
// that were written more than blobGrace ago: what a crash between storing
// an upload and committing its row leaves behind (blob.Sweep). It returns
// how many it deleted.
func (s *Server) sweepBlobs(ctx context.Context) (int, error) {
	if s.Blobs == nil {
		return 0, nil
	}
	return blob.Sweep(ctx, s.Blobs, "docs/", s.Now().Add(-blobGrace), func(keys []string) (map[string]bool, error) {
		return s.DB.ReferencedBlobs(ctx, keys)
	})
}
