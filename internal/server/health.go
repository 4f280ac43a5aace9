package server

import (
	"context"
	"ite/internal/applications"
	"net/http"
	"time"
)

// healthRoutes: the probes of the load balancer and the orchestrator.
func (s *Server) healthRoutes() []route {
	return []route{
		{"GET", "/healthz", can(applications.ActionUseSite), s.handleHealthz},
		{"GET", "/readyz", can(applications.ActionUseSite), s.handleReadyz},
	}
}

// handleHealthz says the process is up (GET /healthz). It touches nothing
// else so a load balancer never kills a server for a database outage.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := w.Write([]byte("ok " + s.Version + "\n"))
	return err
}

// handleReadyz says whether this server can take traffic (GET /readyz):
// the database answers and its schema is the one this binary expects.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.DB.SchemaReady(ctx); err != nil {
		s.Logger.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("数据库不可用或结构版本不符\n"))
		return nil
	}
	_, err := w.Write([]byte("ready\n"))
	return err
}
