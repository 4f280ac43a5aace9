package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/internal/server"
)

// anchorDir is where the server keeps a copy of every anchor it signs:
// DATA_DIR/anchors, outside the database.
func anchorDir(c config) string { return filepath.Join(c.DataDir, "anchors") }

// cmdAnchor signs an anchor of both chains as they stand (kept in
// DATA_DIR/anchors and the database, queued to the auditors) and prints it
// as JSON; -public-key prints only the key that checks anchors, for
// publishing.
func cmdAnchor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("anchor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pubOnly := fs.Bool("public-key", false, "只显示锚定签名公钥（Ed25519，十六进制）")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitError{2}
	}
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if *pubOnly {
		fmt.Fprintln(stdout, hex.EncodeToString(c.AnchorKey.Public().(ed25519.PublicKey)))
		return nil
	}
	db, stop, err := openDB(ctx, c, false, stderr)
	if err != nil {
		return err
	}
	defer stop()
	srv := server.New(server.Config{DB: db, AnchorKey: c.AnchorKey, AnchorDir: anchorDir(c)})
	a, doc, err := srv.WriteAnchor(ctx, cliActor, "manual")
	if err != nil {
		return err
	}
	if _, err := stdout.Write(doc); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "已签发锚定：台账第 %d 号凭证、审计日志第 %d 条（副本在 %s）\n", a.Ledger.Seq, a.Audit.Seq, anchorDir(c))
	return nil
}

// verifyFlags reads the flags of `ledger verify` and `audit verify`: the
// anchor file to check against, if any.
func verifyFlags(name string, args []string, stderr io.Writer) (string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("anchor", "", "签名锚定文件（server anchor 的输出或审计页面下载的 JSON）")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return "", exitError{2}
	}
	return *file, nil
}

// checkAnchorFile checks chain ("ledger" or "audit") against the anchor in
// file (nothing when file is ""): the signature against this
// installation's anchor key, then that the database still holds the
// anchored hashes. It prints the outcome and exits 1 when either fails,
// naming the first entry that differs.
func checkAnchorFile(ctx context.Context, db *postgres.DB, c config, chain, file string, stdout io.Writer) error {
	if file == "" {
		return nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	a, err := ledger.ParseAnchor(b)
	if err == nil {
		err = a.Verify(c.AnchorKey.Public().(ed25519.PublicKey))
	}
	if err != nil {
		fmt.Fprintf(stdout, "锚定校验失败：%v\n", err)
		return exitError{1}
	}
	anchored, name := a.Ledger, "台账"
	if chain == "audit" {
		anchored, name = a.Audit, "审计日志"
	}
	res, err := db.CheckAnchoredChain(ctx, chain, anchored)
	if err != nil {
		return err
	}
	if !res.OK {
		fmt.Fprintf(stdout, "锚定校验失败（锚定于 %s）：%s。\n", a.IssuedAt, res.Problem)
		return exitError{1}
	}
	fmt.Fprintf(stdout, "锚定校验通过：%s仍延续 %s 签发的锚定（第 %d 条/号，%d 个检查点一致）。\n", name, a.IssuedAt,
		anchored.Seq, len(anchored.Checkpoints))
	return nil
}
