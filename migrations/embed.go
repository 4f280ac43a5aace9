// Package migrations holds the database schema as numbered SQL files,
// NNNNNN_name.up.sql and NNNNNN_name.down.sql, run in order by
// golang-migrate (see internal/postgres.Migrate).
//
// Each file runs as one multi-statement Exec, which PostgreSQL executes
// as one implicit transaction: a file applies entirely or not at all,
// without BEGIN/COMMIT in it. For the same reason a file cannot hold
// statements that refuse to run in a transaction (CREATE INDEX
// CONCURRENTLY, VACUUM, CREATE DATABASE). Never edit a file once shipped;
// add a new one.
package migrations

import "embed"

// FS holds every migration file, embedded in the binary so a deployment is
// one file.
//
//go:embed *.sql
var FS embed.FS
