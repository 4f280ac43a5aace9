package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/blob"
	"ite/internal/conversion"
	"ite/internal/mail"
	"ite/internal/postgres"
	"ite/internal/seed"
	"ite/internal/server"
)

// openConfigured reads the configuration and opens the database for a
// command that runs once (no migration); stop closes the pool and any
// private cluster it started.
func openConfigured(ctx context.Context, getenv func(string) string, stderr io.Writer) (config, *postgres.DB, func(), error) {
	c, err := loadConfig(getenv)
	if err != nil {
		return c, nil, nil, err
	}
	db, stop, err := openDB(ctx, c, false, stderr)
	return c, db, stop, err
}

// openDB resolves the database, optionally migrates, checks the schema,
// opens the pool and records or checks the installation's CRYPTO (the
// first command to open a database decides; a later one configured
// otherwise is refused with a message saying which to set). The returned
// stop closes the pool and any private cluster this process started.
func openDB(ctx context.Context, c config, migrate bool, stderr io.Writer) (*postgres.DB, func(), error) {
	url, stopPG, err := database(ctx, c, stderr)
	if err != nil {
		return nil, nil, err
	}
	if migrate {
		if err := postgres.Migrate(ctx, url); err != nil {
			stopPG()
			return nil, nil, fmt.Errorf("数据库迁移失败: %w", err)
		}
	}
	if err := postgres.CheckSchema(ctx, url); err != nil {
		stopPG()
		return nil, nil, fmt.Errorf("数据库结构不是最新版本（%w）；请先运行 `server migrate`，或以 `server serve -migrate` 启动", err)
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		stopPG()
		return nil, nil, err
	}
	if err := db.RecordCrypto(ctx, c.Crypto, cliActor); err != nil {
		db.Close()
		stopPG()
		return nil, nil, err
	}
	return db, func() { db.Close(); stopPG() }, nil
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	migrate := fs.Bool("migrate", false, "先执行数据库迁移")
	demo := fs.Bool("demo", false, "数据库中没有用户时创建演示账号并打印")
	if err := fs.Parse(args); err != nil {
		return exitError{2}
	}
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, c.LogLevel)
	// The server's live heap is small (tens of MiB: pools, caches), so Go's
	// default GOGC=100 collects every few hundred pages and the collector
	// took 13 % of the CPU of an uncached queue page (docs/PERFORMANCE.md,
	// session 6). Four times the live heap between collections is still
	// small; GOGC set in the environment wins.
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	db, stop, err := openDB(ctx, c, *migrate, stderr)
	if err != nil {
		return err
	}
	defer stop()
	blobs, err := blob.OpenStore(c.BlobStore, c.DataDir, getenv)
	if err != nil {
		return err
	}
	// A wrong bucket or key must stop the start, not the first upload.
	if s3, ok := blobs.(*blob.S3); ok {
		if err := s3.CheckBucket(ctx); err != nil {
			return err
		}
	}
	removeInterruptedUploads(ctx, blobs, logger)
	srv := server.New(server.Config{DB: db, Logger: logger, Key: c.AppKey, BaseURL: c.BaseURL,
		Programme: c.Programme, Version: version, Blobs: blobs, MasterKey: c.MasterKey, Crypto: c.Crypto,
		MaxUploadBytes: c.MaxUploadBytes, PageCache: c.PageCache, AnchorKey: c.AnchorKey, AnchorDir: anchorDir(c)})
	if *demo {
		// Only into a database without users: a second start adds nothing.
		// The documents go to the blob store the server reads.
		logins, err := seed.DemoWorld(ctx, db, seed.DemoOptions{Production: c.Production, Blobs: blobs, MasterKey: c.MasterKey, Crypto: c.Crypto})
		if err != nil {
			return err
		}
		printLogins(stdout, c.BaseURL, logins)
		if err := printDemoApplications(ctx, stdout, db); err != nil {
			return err
		}
	}
	httpSrv := &http.Server{Addr: c.ListenAddr, Handler: srv, ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 120 * time.Second}
	ln, err := net.Listen("tcp", c.ListenAddr)
	if err != nil {
		return fmt.Errorf("监听 %s 失败（端口被占用？可设置 LISTEN_ADDR）: %w", c.ListenAddr, err)
	}
	jobs, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	go srv.RunJobs(jobs)
	if c.Mail.Enabled() {
		mailer, err := mail.NewWorker(c.Mail, db, c.BaseURL, logger)
		if err != nil {
			ln.Close()
			return err
		}
		mailer.SubjectPrefix = "【" + c.Programme + "】"
		go mailer.Run(jobs)
		logger.Info("email notifications on", "smtp_addr", c.Mail.Addr)
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	logger.Info("serving", "addr", ln.Addr().String(), "base_url", c.BaseURL, "version", version,
		"crypto", c.Crypto.String(), "chain_hash", c.Crypto.ChainHash())
	fmt.Fprintf(stdout, "ITE 已启动：%s（按 Ctrl-C 停止）\n", c.BaseURL)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful: stop taking connections, let running requests finish.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	logger.Info("shutting down")
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// removeInterruptedUploads deletes, at start-up, the temporary files of
// uploads that a crash or kill cut off (the hourly sweep would take them
// only after 24 hours). The rule, safe while another app server shares
// DATA_DIR and is mid-upload: only files untouched for blob.TempIdle (10
// minutes) go, and a live upload touches its file every minute even when
// its client is stalled. On S3 the leftovers are unfinished multipart
// uploads, aborted when no part has arrived for blob.TempIdle. A failure
// is logged; the server starts anyway.
func removeInterruptedUploads(ctx context.Context, store blob.Store, logger *slog.Logger) {
	n, err := blob.RemoveInterruptedUploads(ctx, store, time.Now().Add(-blob.TempIdle))
	switch {
	case err != nil:
		logger.Error("remove interrupted uploads", "err", err, "removed", n)
	case n > 0:
		logger.Info("removed interrupted uploads", "count", n)
	}
}

func printLogins(w io.Writer, baseURL string, logins []seed.Login) {
	fmt.Fprintf(w, "\n演示账号（仅用于开发环境），登录地址 %s/login：\n", baseURL)
	for _, l := range logins {
		fmt.Fprintf(w, "  %-6s  用户名 %-10s 密码 %s", l.Role.Label(), l.Username, l.Password)
		if l.TOTPSecret != "" {
			fmt.Fprintf(w, "  动态验证码密钥 %s", l.TOTPSecret)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "动态验证码：把密钥添加到手机身份验证器，或运行 `server totp 密钥` 打印当前验证码。")
	fmt.Fprintln(w)
}

// printDemoApplications lists the demo applications, one per state of
// DOMAIN §4, with the ID to open them by (README: 演示数据).
func printDemoApplications(ctx context.Context, w io.Writer, db *postgres.DB) error {
	apps, err := db.ListApplications(ctx, postgres.QueueFilter{Limit: 500})
	if err != nil {
		return err
	}
	byTitle := map[string]applications.Application{}
	for _, a := range apps {
		byTitle[a.Title] = a
	}
	fmt.Fprintln(w, "演示申报（企业账号 qiye，每个状态一个；谁来办理见 README 的“演示数据”）：")
	for _, dc := range seed.DemoCases {
		if a, ok := byTitle[dc.Title]; ok {
			fmt.Fprintf(w, "  %-8s /applications/%-4d %s\n", a.State.Label(), a.ID, a.Title)
		}
	}
	fmt.Fprintln(w)
	return nil
}

func cmdMigrate(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	url, stopPG, err := database(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer stopPG()
	if err := postgres.Migrate(ctx, url); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "数据库已迁移到版本 %d。\n", postgres.LatestVersion())
	return nil
}

// cmdSeed creates the demo accounts, or with -synthetic N a synthetic
// data set of N applications for benchmarks and demonstrations (see
// seed.Synthetic). Both are refused when APP_ENV=production.
func cmdSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	synthetic := fs.Int("synthetic", 0, "创建 N 个合成申报（约 N/3 家企业，含材料文件和办理记录），用于性能测试和演示")
	documents := fs.Bool("documents", true, "合成申报附带材料文件；-documents=false 只写申报和办理记录（快得多，但材料清单为空）")
	randSeed := fs.Uint64("seed", 1, "合成数据的随机种子：相同种子生成相同的名称、金额和状态")
	if err := fs.Parse(args); err != nil {
		return exitError{2}
	}
	syntheticSet := false
	fs.Visit(func(f *flag.Flag) { syntheticSet = syntheticSet || f.Name == "synthetic" })
	if fs.NArg() > 0 || (syntheticSet && (*synthetic < 1 || *synthetic > seed.MaxSynthetic)) {
		fmt.Fprintf(stderr, "用法: server seed [-synthetic N（1–%d） [-documents=false] [-seed S]]\n", seed.MaxSynthetic)
		return exitError{2}
	}
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if syntheticSet && c.Production {
		// Refused before touching the database or the blob store.
		return seed.ErrProduction
	}
	db, stop, err := openDB(ctx, c, false, stderr)
	if err != nil {
		return err
	}
	defer stop()
	if !syntheticSet {
		logins, err := seed.Demo(ctx, db, c.Production, auth.DefaultParams)
		if err != nil {
			return err
		}
		printLogins(stdout, c.BaseURL, logins)
		return nil
	}
	opts := seed.SyntheticOptions{N: *synthetic, NoDocuments: !*documents, Seed: *randSeed, Progress: stdout}
	if *documents {
		if opts.Blobs, err = blob.OpenStore(c.BlobStore, c.DataDir, getenv); err != nil {
			return err
		}
		opts.MasterKey, opts.Crypto = c.MasterKey, c.Crypto
	}
	rep, err := seed.Synthetic(ctx, db, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "已创建合成数据：%d 个申报、%d 家企业、%d 个账号、%d 份材料（%.1f MiB），用时 %s。\n",
		rep.Applications, rep.Enterprises, rep.Users, rep.Documents, float64(rep.BlobBytes)/(1<<20), rep.Elapsed.Round(time.Second))
	for _, p := range rep.Programmes {
		fmt.Fprintf(stdout, "  批次 #%d %s\n", p.ID, p.Name)
	}
	fmt.Fprintf(stdout, "合成企业账号的用户名为 %s 加企业编号（如 %s），密码均为 %s。\n", seed.SyntheticPrefix, rep.SampleUsername, seed.DemoPassword)
	return nil
}

func cmdCalc(stdin io.Reader, stdout io.Writer) int {
	return conversion.RunCLI(stdin, stdout)
}

func cmdAuditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	anchorFile, err := verifyFlags("audit verify", args, stderr)
	if err != nil {
		return err
	}
	c, db, stop, err := openConfigured(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	n, err := db.VerifyAudit(ctx)
	var ce *audit.ChainError
	if errors.As(err, &ce) {
		fmt.Fprintf(stdout, "审计日志校验失败：%s（此前 %d 条完好）\n", ce.Error(), n)
		return exitError{1}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "审计日志校验通过：共 %d 条，哈希链完整。\n", n)
	return checkAnchorFile(ctx, db, c, "audit", anchorFile, stdout)
}

// cmdHealthcheck asks the local server's /healthz; the container image has
// no curl, so the binary checks itself.
func cmdHealthcheck(getenv func(string) string) error {
	addr := or(getenv("LISTEN_ADDR"), ":8080")
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz 返回 %d", resp.StatusCode)
	}
	return nil
}

// cmdAddUser creates an account from the command line, for the first
// administrator of a production installation (demo accounts are refused
// there). The password is read from stdin so it stays out of shell history.
func cmdAddUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) != 3 {
		fmt.Fprintln(stderr, "用法: server adduser 用户名 角色 姓名   （密码从标准输入读取）")
		return exitError{2}
	}
	role, err := applications.ParseRole(args[1])
	if err != nil {
		return err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return errors.New("请在标准输入提供密码")
	}
	password := strings.TrimRight(line, "\r\n")
	if err := applications.ValidatePassword(password); err != nil {
		return errors.New(applications.ErrorMessage(err))
	}
	_, db, stop, err := openConfigured(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	hash, err := auth.HashPassword(password, auth.DefaultParams)
	if err != nil {
		return err
	}
	u, err := db.CreateUser(ctx, audit.Actor{Name: "命令行", Role: "system"}, postgres.NewUser{
		Username: args[0], DisplayName: args[2], Role: role, PasswordHash: hash, MustChangePassword: true})
	if err != nil {
		return errors.New(applications.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "已创建%s账号 %s。首次登录须先修改密码", u.Role.Label(), u.Username)
	if auth.DefaultPolicy.RequiresSecondFactor(u.Role) {
		fmt.Fprint(stdout, "，并用手机身份验证器启用双因素认证")
	}
	fmt.Fprintln(stdout, "。")
	return nil
}
