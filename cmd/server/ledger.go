package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/blob"
	"ite/internal/day"
	"ite/internal/ledger"
	"ite/internal/postgres"
)

var cliActor = audit.Actor{Name: "命令行", Role: "system"}

// cmdLedger runs the ledger subcommands: verify, export, synthetic,
// rebuild-totals.
func cmdLedger(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{2}
	}
	switch args[0] {
	case "verify":
		return cmdLedgerVerify(ctx, args[1:], getenv, stdout, stderr)
	case "export":
		return cmdLedgerExport(ctx, args[1:], getenv, stdout, stderr)
	case "synthetic":
		return cmdLedgerSynthetic(ctx, args[1:], getenv, stdout, stderr)
	case "rebuild-totals":
		return cmdLedgerRebuildTotals(ctx, getenv, stdout, stderr)
	}
	fmt.Fprintf(stderr, "未知的 ledger 子命令 %q\n\n%s", args[0], usage)
	return exitError{2}
}

// cmdLedgerRebuildTotals recomputes the dashboard's running totals from
// the postings (see postgres.RebuildLedgerTotals).
func cmdLedgerRebuildTotals(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	_, db, stop, err := openConfigured(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	n, err := db.RebuildLedgerTotals(ctx, cliActor)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "已按分录重建台账汇总：%d 行。请再运行 server ledger verify 确认。\n", n)
	return nil
}

// cmdLedgerVerify checks the whole ledger and prints the first bad entry;
// it exits 1 when the ledger does not verify.
func cmdLedgerVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	anchorFile, err := verifyFlags("ledger verify", args, stderr)
	if err != nil {
		return err
	}
	c, db, stop, err := openConfigured(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	start := time.Now()
	v, err := db.VerifyLedger(ctx)
	if err != nil {
		return err
	}
	outcome := audit.Success
	if !v.OK {
		outcome = audit.Failure
	}
	_ = db.RecordAudit(ctx, audit.Event{Actor: cliActor, Name: "ledger_verify", Outcome: outcome,
		Detail: map[string]any{"entries": v.Entries, "ok": v.OK, "first_bad": v.FirstBad, "head": v.Head.String()}})
	if !v.OK {
		fmt.Fprintf(stdout, "台账校验失败：%s\n", v.Problem)
		if v.FirstBad > 0 {
			fmt.Fprintf(stdout, "第一张有问题的凭证：第 %d 号\n", v.FirstBad)
		}
		fmt.Fprintf(stdout, "此前 %d 张凭证完好。\n", v.Entries)
		return exitError{1}
	}
	fmt.Fprintf(stdout, "台账校验通过：共 %d 张凭证、%d 条分录，借贷平衡（借方 %s = 贷方 %s），哈希链完整，资金余额与分录一致。\n",
		v.Entries, v.Postings, v.Debit.StringFixed(2), v.Credit.StringFixed(2))
	fmt.Fprintf(stdout, "链头：%s（用时 %s）\n", v.Head.String(), time.Since(start).Round(time.Millisecond))
	return checkAnchorFile(ctx, db, c, "ledger", anchorFile, stdout)
}

// cmdLedgerExport streams the journal or the trial balance to a file or
// standard output, exactly as the auditor's download does.
func cmdLedgerExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledger export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	view := fs.String("view", "journal", "journal（日记账）或 trial-balance（试算平衡表）")
	formatName := fs.String("format", "csv", "csv 或 xlsx")
	out := fs.String("o", "-", "输出文件；- 为标准输出")
	from := fs.String("from", "", "记账日期自 YYYY-MM-DD（日记账）")
	to := fs.String("to", "", "记账日期至 YYYY-MM-DD（日记账）")
	asOf := fs.String("as-of", "", "截至记账日期 YYYY-MM-DD（试算平衡表）")
	programme := fs.Int64("programme", 0, "申报批次编号")
	project := fs.Int64("project", 0, "项目（申报）编号（日记账）")
	account := fs.String("account", "", "科目，如 1221 或 1221/app/5（日记账）")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitError{2}
	}
	f, err := ledger.ParseFormat(*formatName)
	if err != nil {
		return err
	}
	optionalDay := func(s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		return day.Parse(s)
	}
	_, db, stop, err := openConfigured(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	var w io.Writer = stdout
	if *out != "-" {
		file, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer file.Close()
		w = file
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	start := time.Now()
	var rows int64
	var head ledger.ChainHead
	switch *view {
	case "journal":
		jf := postgres.JournalFilter{ProgrammeID: *programme, ApplicationID: *project, Account: *account}
		if jf.From, err = optionalDay(*from); err != nil {
			return err
		}
		if jf.To, err = optionalDay(*to); err != nil {
			return err
		}
		// Both formats go through the encoder: on a quiet machine its CSV
		// ran at 1.05x of psql's \copy of the same rows, where letting the
		// database format the lines (COPY of one text column) ran at 2x
		// (docs/PERFORMANCE.md, "The journal CSV on a quiet machine").
		t := ledger.JournalTable
		t.Location = day.Zone
		rw, err := ledger.NewRowWriter(f, bw, t)
		if err != nil {
			return err
		}
		defer rw.Abort() //nolint:errcheck // no-op after Close
		row := make([]ledger.Value, 0, len(t.Columns))
		head, err = db.ExportJournal(ctx, jf, func(e *ledger.Entry, p ledger.Posting) error {
			rows++
			row = ledger.AppendJournalRow(row[:0], e, p)
			return rw.WriteRow(row...)
		})
		if err != nil {
			return err
		}
		if err := rw.Close(head); err != nil {
			return err
		}
	case "trial-balance":
		tf := postgres.TrialFilter{ProgrammeID: *programme}
		if tf.AsOf, err = optionalDay(*asOf); err != nil {
			return err
		}
		rw, err := ledger.NewRowWriter(f, bw, ledger.TrialBalanceTable)
		if err != nil {
			return err
		}
		defer rw.Abort() //nolint:errcheck // no-op after Close
		tb, h, err := db.TrialBalance(ctx, tf)
		if err != nil {
			return err
		}
		head = h
		for _, b := range tb.Lines() {
			rows++
			if err := rw.WriteRow(ledger.TrialBalanceRow(b)...); err != nil {
				return err
			}
		}
		if err := rw.WriteRow(ledger.TrialBalanceTotalRow(tb)...); err != nil {
			return err
		}
		if err := rw.Close(head); err != nil {
			return err
		}
	default:
		fmt.Fprintf(stderr, "未知的视图 %q：可选 journal、trial-balance\n", *view)
		return exitError{2}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_ = db.RecordAudit(ctx, audit.Event{Actor: cliActor, Name: "export", ObjectType: "ledger_" + *view, Outcome: audit.Success,
		Detail: map[string]any{"format": string(f), "rows": rows, "head": head.String(), "output": *out}})
	fmt.Fprintf(stderr, "已导出 %d 行，链头 %s，用时 %s\n", rows, head.String(), time.Since(start).Round(time.Millisecond))
	return nil
}

// cmdLedgerSynthetic appends a synthetic ledger for benchmarks: a new
// programme, enterprise, maker, checker and projects, and N postings of
// appropriations and disbursements, chained like real ones.
func cmdLedgerSynthetic(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledger synthetic", flag.ContinueOnError)
	fs.SetOutput(stderr)
	postings := fs.Int("postings", 1_000_000, "分录条数（每张凭证两条）")
	projects := fs.Int("projects", 100, "拨付到的合成项目数")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *postings < 2 || *postings > 100_000_000 || *projects < 1 || *projects > 10_000 {
		fmt.Fprintln(stderr, "用法: server ledger synthetic [-postings N（2–100000000）] [-projects P（1–10000）]")
		return exitError{2}
	}
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if c.Production {
		return errors.New("APP_ENV=production：拒绝写入合成台账数据")
	}
	db, stop, err := openDB(ctx, c, false, stderr)
	if err != nil {
		return err
	}
	defer stop()
	start := time.Now()
	tag := start.Format("20060102150405")
	p := applications.NewProgramme(start.Year(), start)
	p.Name = "合成台账 " + tag
	p.TotalBudget = decimal.New(1, 15)
	if p, err = db.CreateProgramme(ctx, cliActor, p); err != nil {
		return err
	}
	var ent postgres.Enterprise
	for seed := int(start.UnixNano() % 1_000_000); ; seed++ {
		ent, err = db.CreateEnterprise(ctx, cliActor, "合成台账企业 "+tag, applications.ExampleUSCC(seed))
		if applications.ErrorKind(err) != applications.Conflict {
			break
		}
	}
	if err != nil {
		return err
	}
	maker, err := db.CreateUser(ctx, cliActor, postgres.NewUser{Username: "synthetic-maker-" + tag, DisplayName: "合成经办",
		Role: applications.RoleStaff, PasswordHash: "!"})
	if err != nil {
		return err
	}
	checker, err := db.CreateUser(ctx, cliActor, postgres.NewUser{Username: "synthetic-checker-" + tag, DisplayName: "合成审批",
		Role: applications.RoleApprover, PasswordHash: "!"})
	if err != nil {
		return err
	}
	disbursements := int64(*postings/2) / 2
	perProject := (disbursements + int64(*projects) - 1) / int64(*projects)
	approved := decimal.NewFromInt(max(perProject, 1) * 1000)
	ids := make([]int64, *projects)
	for i := range ids {
		if ids[i], err = db.SyntheticContract(ctx, postgres.SyntheticContractInput{ProgrammeID: p.ID, EnterpriseID: ent.ID,
			CreatedBy: maker.ID, Title: fmt.Sprintf("合成项目 %d", i+1), Approved: approved}); err != nil {
			return err
		}
	}
	if err := db.LoadSyntheticLedger(ctx, postgres.SyntheticLedgerInput{ProgrammeID: p.ID, Projects: ids, MakerID: maker.ID,
		CheckerID: checker.ID, Postings: *postings, ValueDate: start}); err != nil {
		return err
	}
	head, err := db.LedgerHead(ctx)
	if err != nil {
		return err
	}
	_ = db.RecordAudit(ctx, audit.Event{Actor: cliActor, Name: "ledger_synthetic", ObjectType: "programme",
		ObjectID: fmt.Sprint(p.ID), Outcome: audit.Success, Detail: map[string]any{"postings": *postings, "projects": *projects}})
	fmt.Fprintf(stdout, "已追加 %d 条合成分录（申报批次 %d，%d 个项目），链头 %s，用时 %s\n", *postings/2*2, p.ID, *projects,
		head.String(), time.Since(start).Round(time.Millisecond))
	return nil
}

// cmdBlobs runs the blob store subcommands: verify, sweep.
func cmdBlobs(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) != 1 || (args[0] != "verify" && args[0] != "sweep") {
		fmt.Fprint(stderr, usage)
		return exitError{2}
	}
	c, db, stop, err := openConfigured(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer stop()
	store, err := blob.OpenStore(c.BlobStore, c.DataDir, getenv)
	if err != nil {
		return err
	}
	if args[0] == "sweep" {
		return cmdBlobsSweep(ctx, db, store, stdout)
	}
	start := time.Now()
	v, err := db.VerifyBlobs(ctx, store, c.MasterKey)
	if err != nil {
		return err
	}
	if v.Failed > 0 {
		fmt.Fprintf(stdout, "文件校验失败：%d 个文件中 %d 个缺失、无法读取或哈希不符：\n", v.Checked, v.Failed)
		for _, p := range v.Problems {
			fmt.Fprintln(stdout, "  "+p)
		}
		return exitError{1}
	}
	fmt.Fprintf(stdout, "文件校验通过：%d 个文件（%d 字节）与 documents.sha256 一致（用时 %s）。\n", v.Checked, v.Bytes,
		time.Since(start).Round(time.Millisecond))
	return nil
}

// orphanGrace is how old an unreferenced document blob must be before
// `blobs sweep` deletes it: the grace period of the hourly sweep in serve,
// well beyond the longest upload, whose row commits only after its blob
// is stored.
const orphanGrace = 24 * time.Hour

// cmdBlobsSweep removes what interrupted uploads left in the store: the
// temporary files of uploads cut off by a crash or kill (untouched for
// blob.TempIdle, so safe while servers run on the same store) and document
// blobs that no row references, older than orphanGrace. It is what serve
// does at start-up and every hour, on demand.
func cmdBlobsSweep(ctx context.Context, db *postgres.DB, store blob.Store, stdout io.Writer) error {
	now := time.Now()
	temps, err := blob.RemoveInterruptedUploads(ctx, store, now.Add(-blob.TempIdle))
	if err != nil {
		return err
	}
	orphans, err := blob.Sweep(ctx, store, "docs/", now.Add(-orphanGrace), func(keys []string) (map[string]bool, error) {
		return db.ReferencedBlobs(ctx, keys)
	})
	if err != nil {
		return fmt.Errorf("清理孤立文件（已删除 %d 个）: %w", orphans, err)
	}
	_ = db.RecordAudit(ctx, audit.Event{Actor: cliActor, Name: "blobs_sweep", Outcome: audit.Success,
		Detail: map[string]any{"temp_files": temps, "orphans": orphans}})
	fmt.Fprintf(stdout, "文件存储已清理：删除 %d 个中断上传留下的临时文件（%s 未写入）、%d 个无材料记录引用的文件（早于 %s）。\n",
		temps, blob.TempIdle, orphans, orphanGrace)
	return nil
}
