package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"ite/internal/mail"
	"ite/internal/pglocal"
	"ite/internal/suite"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// config is the environment, read once. Defaults make `make run` work on a
// fresh machine with nothing set.
type config struct {
	DatabaseURL string
	ListenAddr  string
	DataDir     string
	BaseURL     string
	LogLevel    slog.Level
	Production  bool
	Programme   string
	AppKey      []byte
	MasterKey   []byte
	// Crypto is the installation's algorithms (CRYPTO: intl, the default,
	// or gm for SM3 chains and SM4-GCM sealing; see package suite). The
	// database records it at the first start and refuses a different one
	// later (postgres.RecordCrypto).
	Crypto    suite.Suite
	BlobStore string
	// MaxUploadBytes is the per-file upload limit (MAX_UPLOAD_MIB, default 20).
	MaxUploadBytes int64
	// Mail is the SMTP relay for email notifications (SMTP_ADDR,
	// SMTP_FROM, SMTP_USERNAME, SMTP_PASSWORD; see package mail). Without
	// SMTP_ADDR the outbox fills but is not drained.
	Mail mail.Config
	// PageCache keeps rendered pages in memory until the data changes
	// (PAGE_CACHE: "on", the default, or "off"; see package pagecache).
	PageCache bool
	// AnchorKey signs the chain anchors: an Ed25519 key from the seed in
	// ANCHOR_KEY (64 hex) or DATA_DIR/secrets/anchor.key, generated on
	// first run; never in the database.
	AnchorKey ed25519.PrivateKey
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		DatabaseURL: getenv("DATABASE_URL"),
		ListenAddr:  or(getenv("LISTEN_ADDR"), ":8080"),
		DataDir:     or(getenv("DATA_DIR"), "./var"),
		BaseURL:     or(getenv("BASE_URL"), "http://localhost:8080"),
		Production:  getenv("APP_ENV") == "production",
		Programme:   or(getenv("PROGRAMME_NAME"), "先投后股"),
		BlobStore:   getenv("BLOB_STORE"),
	}
	var err error
	if c.Crypto, err = suite.Parse(getenv("CRYPTO")); err != nil {
		return c, err
	}
	switch v := getenv("PAGE_CACHE"); v {
	case "", "on":
		c.PageCache = true
	case "off":
	default:
		return c, fmt.Errorf("PAGE_CACHE 须为 on 或 off，而不是 %q", v)
	}
	mib, err := strconv.Atoi(or(getenv("MAX_UPLOAD_MIB"), "20"))
	if err != nil || mib < 1 || mib > 1024 {
		return c, errors.New("MAX_UPLOAD_MIB 须为 1–1024 的整数")
	}
	c.MaxUploadBytes = int64(mib) << 20
	if c.Mail, err = mail.ConfigFromEnv(getenv); err != nil {
		return c, err
	}
	if err := c.LogLevel.UnmarshalText([]byte(or(getenv("LOG_LEVEL"), "info"))); err != nil {
		return c, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	if c.AppKey, err = secret(getenv("APP_KEY"), filepath.Join(c.DataDir, "secrets", "app.key")); err != nil {
		return c, fmt.Errorf("APP_KEY: %w", err)
	}
	if c.MasterKey, err = secret(getenv("MASTER_KEY"), filepath.Join(c.DataDir, "secrets", "master.key")); err != nil {
		return c, fmt.Errorf("MASTER_KEY: %w", err)
	}
	seed, err := secret(getenv("ANCHOR_KEY"), filepath.Join(c.DataDir, "secrets", "anchor.key"))
	if err != nil {
		return c, fmt.Errorf("ANCHOR_KEY: %w", err)
	}
	c.AnchorKey = ed25519.NewKeyFromSeed(seed)
	return c, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// secret returns a 32-byte key: from the environment (64 hex characters)
// when given, else from file, generating the file on first run. Keys are
// never committed; several app servers must be given the same keys.
func secret(env, file string) ([]byte, error) {
	if env != "" {
		k, err := hex.DecodeString(strings.TrimSpace(env))
		if err != nil || len(k) != 32 {
			return nil, errors.New("须为 64 位十六进制（32 字节）")
		}
		return k, nil
	}
	if b, err := os.ReadFile(file); err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("%s 内容无效", file)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return k, nil
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// database returns the URL to use, starting a private PostgreSQL under
// DATA_DIR/postgres when DATABASE_URL is unset. stop stops that cluster
// if (and only if) this process started it.
func database(ctx context.Context, c config, log io.Writer) (url string, stop func(), err error) {
	if c.DatabaseURL != "" {
		return c.DatabaseURL, func() {}, nil
	}
	dir, err := clusterDir(c.DataDir)
	if err != nil {
		return "", nil, err
	}
	fmt.Fprintln(log, "未设置 DATABASE_URL：使用", dir, "中的本地私有 PostgreSQL。")
	cl, err := pglocal.Start(ctx, pglocal.Options{Dir: dir, Log: log})
	if err != nil {
		return "", nil, err
	}
	return cl.URL, func() {
		if err := cl.Stop(); err != nil {
			fmt.Fprintln(log, "停止本地 PostgreSQL 失败:", err)
		}
	}, nil
}

// clusterDir is where the private PostgreSQL lives: DATA_DIR/postgres,
// except when running as root. PostgreSQL then runs as user postgres,
// which cannot enter a checkout under /root (mode 0700), so the cluster
// goes to /var/lib/ite/<hash of DATA_DIR> instead: still one cluster per
// checkout, still kept between runs.
func clusterDir(dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", err
	}
	if os.Geteuid() != 0 {
		return filepath.Join(abs, "postgres"), nil
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join("/var/lib/ite", "postgres-"+hex.EncodeToString(sum[:6])), nil
}
