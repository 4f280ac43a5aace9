package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"ite/internal/applications"
	"ite/internal/postgres/pgtest"
)

func pingErr(t *testing.T, url string) error {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	return pool.Ping(context.Background())
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("NobodyListening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if err := pingErr(t, "postgres://ite@"+addr+"/ite?connect_timeout=2"); !Unavailable(err) || !Unavailable(fmt.Errorf("find session: %w", err)) {
			t.Fatalf("connection refused: %v not unavailable", err)
		}
	})
	t.Run("DatabaseGone", func(t *testing.T) {
		cfg, err := pgxpool.ParseConfig(pgtest.NewURL(t))
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.Database = "ite_no_such_database"
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		if err := pool.Ping(ctx); !Unavailable(err) {
			t.Fatalf("missing database: %v not unavailable", err)
		}
	})
	t.Run("ClosedPool", func(t *testing.T) {
		pool := pgtest.NewDB(t)
		pool.Close()
		_, err := New(pool).FindSession(ctx, "token")
		if !Unavailable(err) {
			t.Fatalf("closed pool: %v not unavailable", err)
		}
	})
	t.Run("BackendTerminated", func(t *testing.T) {
		// What a session sees when PostgreSQL shuts down under it.
		pool := pgtest.NewDB(t)
		conn, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		var pid int
		if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(ctx, `SELECT 1`)
		if err == nil || !Unavailable(err) {
			t.Fatalf("terminated backend: %v not unavailable", err)
		}
	})
	t.Run("ServerCodes", func(t *testing.T) {
		for code, want := range map[string]bool{"08006": true, "08001": true, "57P01": true, "57P02": true, "57P03": true,
			"23505": false, "40001": false, "57014": false, "22P05": false, "42501": false} {
			if got := Unavailable(mapError(&pgconn.PgError{Code: code})); got != want {
				t.Errorf("SQLSTATE %s: unavailable %v, want %v", code, got, want)
			}
		}
	})
	t.Run("OtherErrorsAreNot", func(t *testing.T) {
		for _, err := range []error{nil, pgx.ErrNoRows, context.Canceled, context.DeadlineExceeded, io.ErrUnexpectedEOF,
			&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")},
			applications.Errorf(applications.Invalid, "x")} {
			if Unavailable(err) {
				t.Errorf("%v taken for an outage", err)
			}
		}
	})
}
