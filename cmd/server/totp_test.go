package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"ite/internal/auth"
	"ite/internal/postgres/pgtest"
	"ite/internal/seed"
)

func TestTOTPCommand(t *testing.T) {
	secret := seed.DemoLogins[1].TOTPSecret
	t.Run("PrintsTheCurrentCode", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"totp", strings.ToLower(secret)}, env(nil), nil, &out, &errb); code != 0 {
			t.Fatalf("exit %d %s", code, errb.String())
		}
		got := regexp.MustCompile(`^\d{6}`).FindString(out.String())
		if got == "" {
			t.Fatalf("output %q", out.String())
		}
		if _, ok, _ := auth.MatchTOTP(secret, got, time.Now(), 0); !ok {
			t.Fatalf("%s is not a current code", got)
		}
	})
	t.Run("RefusedInProduction", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"totp", secret}, env(map[string]string{"APP_ENV": "production"}), nil, &out, &errb)
		if code != 1 || out.Len() != 0 || !strings.Contains(errb.String(), "production") {
			t.Fatalf("exit %d out %q err %q", code, out.String(), errb.String())
		}
	})
	t.Run("BadSecretAndUsage", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"totp", "not base32!"}, env(nil), nil, &out, &errb); code != 1 {
			t.Fatalf("bad secret: exit %d", code)
		}
		if code := run(context.Background(), []string{"totp"}, env(nil), nil, &out, &errb); code != 2 {
			t.Fatalf("no secret: exit %d", code)
		}
	})
}

func TestAddUserSecurityAdmin(t *testing.T) {
	url := pgtest.NewURL(t)
	getenv := env(map[string]string{"DATABASE_URL": url, "DATA_DIR": t.TempDir()})
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"adduser", "anquan", "security_admin", "周安全"}, getenv,
		strings.NewReader("Str0ng-passw0rd!\n"), &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "安全管理员") || !strings.Contains(out.String(), "双因素认证") {
		t.Fatalf("exit %d out %q err %q", code, out.String(), errb.String())
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var role string
	var mustChange bool
	if err := pool.QueryRow(context.Background(), `SELECT role, must_change_password FROM users WHERE username = 'anquan'`).Scan(&role, &mustChange); err != nil {
		t.Fatal(err)
	}
	if role != "security_admin" || !mustChange {
		t.Fatalf("role %s must change %v", role, mustChange)
	}
}

func TestSeedPrintsSecrets(t *testing.T) {
	url := pgtest.NewURL(t)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"seed"}, env(map[string]string{"DATABASE_URL": url, "DATA_DIR": t.TempDir()}), nil, &out, &errb); code != 0 {
		t.Fatalf("seed: %d %s", code, errb.String())
	}
	for _, l := range seed.DemoLogins {
		if !strings.Contains(out.String(), l.Username) || (l.TOTPSecret != "" && !strings.Contains(out.String(), l.TOTPSecret)) {
			t.Errorf("%s or its secret not printed:\n%s", l.Username, out.String())
		}
	}
	if !strings.Contains(out.String(), "安全管理员") || !strings.Contains(out.String(), "server totp") {
		t.Errorf("no security admin or totp hint:\n%s", out.String())
	}
}
