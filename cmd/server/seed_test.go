package main

import (
	"bytes"
	"context"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ite/internal/postgres/pgtest"
)

func TestSeedSyntheticCommand(t *testing.T) {
	url := pgtest.NewURL(t)
	dir := t.TempDir()
	getenv := env(map[string]string{"DATABASE_URL": url, "DATA_DIR": dir})
	ctx := context.Background()
	var out, errb bytes.Buffer
	auditRows := func() string {
		t.Helper()
		out.Reset()
		if code := run(ctx, []string{"audit", "verify"}, getenv, nil, &out, &errb); code != 0 {
			t.Fatalf("audit: %d %s %s", code, out.String(), errb.String())
		}
		return out.String()
	}
	t.Run("DemoWithoutTheFlag", func(t *testing.T) {
		out.Reset()
		if code := run(ctx, []string{"seed"}, getenv, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "jingban") {
			t.Fatalf("seed: %d %s %s", code, out.String(), errb.String())
		}
	})
	before := auditRows()
	t.Run("CreatesApplicationsDocumentsAndOneAuditRow", func(t *testing.T) {
		if code := run(ctx, []string{"seed", "--synthetic", "30"}, getenv, nil, &out, &errb); code != 0 {
			t.Fatalf("seed --synthetic: %d %s", code, errb.String())
		}
		if !strings.Contains(out.String(), "已创建合成数据：30 个申报、10 家企业") {
			t.Fatalf("output: %s", out.String())
		}
		blobs := 0
		_ = filepath.WalkDir(filepath.Join(dir, "blobs", "docs"), func(_ string, d fs.DirEntry, _ error) error {
			if d != nil && !d.IsDir() {
				blobs++
			}
			return nil
		})
		if blobs < 100 {
			t.Fatalf("%d blobs under DATA_DIR/blobs/docs", blobs)
		}
		// Demo wrote 9 rows (the enterprise and eight accounts, one per
		// role), after the first start's crypto_recorded row unless the
		// test database had its CRYPTO recorded already; the synthetic run
		// adds exactly one.
		demo := 9
		if pgtest.Crypto() == "" {
			demo++
		}
		if after := auditRows(); !strings.Contains(before, "共 "+strconv.Itoa(demo)+" 条") ||
			!strings.Contains(after, "共 "+strconv.Itoa(demo+1)+" 条") {
			t.Fatalf("audit before %q after %q", before, after)
		}
	})
	t.Run("BadCountRefused", func(t *testing.T) {
		for _, args := range [][]string{{"seed", "-synthetic", "0"}, {"seed", "-synthetic", "x"}, {"seed", "extra"}} {
			errb.Reset()
			if code := run(ctx, args, getenv, nil, &out, &errb); code != 2 {
				t.Fatalf("%v: exit %d %s", args, code, errb.String())
			}
		}
	})
	t.Run("RefusedInProduction", func(t *testing.T) {
		prod := env(map[string]string{"DATABASE_URL": url, "DATA_DIR": dir, "APP_ENV": "production"})
		errb.Reset()
		if code := run(ctx, []string{"seed", "-synthetic", "5"}, prod, nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "production") {
			t.Fatalf("exit %d %s", code, errb.String())
		}
	})
}
