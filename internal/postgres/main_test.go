package postgres

import (
	"testing"

	"ite/internal/postgres/pgtest"
)

// TestMain stops the test PostgreSQL that pgtest may start. It is the
// package's only TestMain: Go allows one per package.
func TestMain(m *testing.M) { pgtest.Main(m) }
