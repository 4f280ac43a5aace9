package server

import (
	"net/http"
	"net/url"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/web/page"
)

// The exports of the auditor's views (DOMAIN §13): CSV (UTF-8 with BOM,
// formula-safe, chain head in the last line) or XLSX (typed cells, frozen
// Chinese header, chain head on a second sheet), written by
// internal/ledger's RowWriter straight from a database cursor, so memory
// stays flat whatever the size. Every export is audit-logged.

// AccountLedgerTable is the account ledger export (明细账).
var AccountLedgerTable = ledger.Table{
	Name: "明细账",
	Columns: []ledger.Column{
		{Title: "记账日期", Type: ledger.ColDate},
		{Title: "凭证序号", Type: ledger.ColInt},
		{Title: "行号", Type: ledger.ColInt, Width: 6},
		{Title: "凭证类型", Type: ledger.ColText, Width: 14},
		{Title: "摘要", Type: ledger.ColText, Width: 30},
		{Title: "业务单据", Type: ledger.ColText, Width: 20},
		{Title: "明细科目", Type: ledger.ColText, Width: 18},
		{Title: "借方金额", Type: ledger.ColMoney},
		{Title: "贷方金额", Type: ledger.ColMoney},
		{Title: "余额方向", Type: ledger.ColText, Width: 8},
		{Title: "余额", Type: ledger.ColMoney},
	},
}

// RegisterTable is the project register export (项目台账).
var RegisterTable = ledger.Table{
	Name: "项目台账",
	Columns: []ledger.Column{
		{Title: "项目编号", Type: ledger.ColInt},
		{Title: "项目名称", Type: ledger.ColText, Width: 30},
		{Title: "申报单位", Type: ledger.ColText, Width: 30},
		{Title: "申报批次", Type: ledger.ColText, Width: 24},
		{Title: "状态", Type: ledger.ColText, Width: 12},
		{Title: "批准金额", Type: ledger.ColMoney},
		{Title: "已拨付", Type: ledger.ColMoney},
		{Title: "已转股", Type: ledger.ColMoney},
		{Title: "已退出（成本）", Type: ledger.ColMoney},
		{Title: "退出回收", Type: ledger.ColMoney},
		{Title: "退出损益", Type: ledger.ColMoney},
		{Title: "已核销", Type: ledger.ColMoney},
		{Title: "在投余额", Type: ledger.ColMoney},
		{Title: "立项决策日", Type: ledger.ColDate, Width: 12},
		{Title: "协议签订日", Type: ledger.ColDate, Width: 12},
		{Title: "首次拨付日", Type: ledger.ColDate, Width: 12},
		{Title: "转股日", Type: ledger.ColDate, Width: 12},
		{Title: "退出日", Type: ledger.ColDate, Width: 12},
	},
}

// registerRow is the RegisterTable row of p; the totals row has no ID.
func registerRow(dst []ledger.Value, p *postgres.RegisterRow) []ledger.Value {
	id, state := ledger.Value{}, ledger.Value{}
	if p.ApplicationID > 0 {
		id, state = ledger.Int(p.ApplicationID), ledger.Text(p.State.Label())
	}
	return append(dst, id, ledger.Text(p.Title), ledger.Text(p.Enterprise), ledger.Text(p.Programme), state,
		ledger.NullMoney(p.Approved), ledger.Money(p.Disbursed), ledger.Money(p.Converted), ledger.Money(p.Exited),
		ledger.Money(p.Proceeds), ledger.Money(p.Gain), ledger.Money(p.WrittenOff), ledger.Money(p.Outstanding),
		ledger.Date(p.DecidedOn), ledger.Date(p.SignedOn), ledger.Date(p.FirstDisbursedOn), ledger.Date(p.ConvertedOn),
		ledger.Date(p.ExitedOn))
}

// AuditTable is the audit log export (审计日志).
var AuditTable = ledger.Table{
	Name: "审计日志",
	Columns: []ledger.Column{
		{Title: "序号", Type: ledger.ColInt},
		{Title: "时间", Type: ledger.ColDateTime},
		{Title: "操作人", Type: ledger.ColText},
		{Title: "角色", Type: ledger.ColText, Width: 10},
		{Title: "IP", Type: ledger.ColText},
		{Title: "请求编号", Type: ledger.ColText, Width: 14},
		{Title: "事件", Type: ledger.ColText, Width: 24},
		{Title: "对象类型", Type: ledger.ColText},
		{Title: "对象编号", Type: ledger.ColText, Width: 10},
		{Title: "结果", Type: ledger.ColText, Width: 8},
		{Title: "详情", Type: ledger.ColText, Width: 60},
		{Title: "哈希", Type: ledger.ColText, Width: 66},
	},
}

// exportWriter sets the download headers on the first byte, so an export
// that fails before writing anything can still answer with an error page.
type exportWriter struct {
	w       http.ResponseWriter
	format  ledger.Format
	name    string
	started bool
	bytes   int64
}

func (e *exportWriter) Write(p []byte) (int, error) {
	if !e.started {
		e.started = true
		h := e.w.Header()
		h.Set("Content-Type", e.format.ContentType())
		h.Set("Content-Disposition", "attachment; filename=\"ledger-export"+e.format.Ext()+"\"; filename*=UTF-8''"+
			url.PathEscape(e.name+e.format.Ext()))
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		e.w.WriteHeader(http.StatusOK)
	}
	n, err := e.w.Write(p)
	e.bytes += int64(n)
	return n, err
}

// export streams one view: run writes the rows through rw and returns the
// chain head of its snapshot. The export is audit-logged with its filters,
// row count and head. A failure after the first byte cannot become an
// error page any more: the connection is aborted, and the missing footer
// marks the file incomplete.
func (s *Server) export(w http.ResponseWriter, r *http.Request, view, title string, t ledger.Table,
	run func(rw ledger.RowWriter, rows *int64) (ledger.ChainHead, error)) error {
	f, err := ledger.ParseFormat(or(r.URL.Query().Get("format"), "csv"))
	if err != nil {
		return applications.FieldError("format", "不支持的导出格式，请选择 CSV 或 XLSX。")
	}
	t.Location = day.Zone
	ew := &exportWriter{w: w, format: f, name: title + "_" + s.Now().In(day.Zone).Format("20060102-150405")}
	var rows int64
	rw, err := ledger.NewRowWriter(f, ew, t)
	if err != nil {
		return err
	}
	defer rw.Abort() //nolint:errcheck // no-op after Close
	head, err := run(rw, &rows)
	if err == nil {
		err = rw.Close(head)
	}
	filters := map[string]any{}
	for k, v := range r.URL.Query() {
		if k != "format" && len(v) > 0 {
			filters[k] = v[0]
		}
	}
	e := audit.Event{Name: "export", ObjectType: view, Outcome: audit.Success,
		Detail: map[string]any{"format": string(f), "rows": rows, "filters": filters, "head": head.String(), "bytes": ew.bytes}}
	if err != nil {
		e.Outcome = audit.Failure
		e.Detail["error"] = applications.ErrorMessage(err)
	}
	s.audit(r, e)
	if err != nil && ew.started {
		s.Logger.Error("export failed after the first byte", "view", view, "err", err, "request_id", requestIDFrom(r.Context()))
		panic(http.ErrAbortHandler)
	}
	return err
}

// handleJournalExport exports the journal, one row per posting
// (GET /ledger/journal/export?format=csv|xlsx&...).
func (s *Server) handleJournalExport(w http.ResponseWriter, r *http.Request) error {
	f, err := journalFilter(ledgerFilterOf(r.URL.Query()))
	if err != nil {
		return err
	}
	nm, err := s.exportNames(r)
	if err != nil {
		return err
	}
	return s.export(w, r, "ledger_journal", "日记账", ledger.JournalTable, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
		row := make([]ledger.Value, 0, len(ledger.JournalTable.Columns))
		return s.DB.ExportJournal(r.Context(), f, func(e *ledger.Entry, p ledger.Posting) error {
			*n++
			row = ledger.AppendJournalRow(row[:0], e, p)
			// What a person reads: the sub-account's programme or
			// project, the record's number, who made and checked it.
			row[6], row[9] = ledger.Text(page.SubAccount(nm.accounts, p.Account)), ledger.Text(page.RecordText(e.Record))
			row[10], row[11] = ledger.Text(nm.user(e.MakerID)), ledger.Text(nm.user(e.CheckerID))
			return rw.WriteRow(row...)
		})
	})
}

// handleTrialBalanceExport exports the trial balance at a date
// (GET /ledger/trial-balance/export).
func (s *Server) handleTrialBalanceExport(w http.ResponseWriter, r *http.Request) error {
	f, err := trialFilter(ledgerFilterOf(r.URL.Query()))
	if err != nil {
		return err
	}
	nm, err := s.exportNames(r)
	if err != nil {
		return err
	}
	return s.export(w, r, "ledger_trial_balance", "试算平衡表", ledger.TrialBalanceTable, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
		tb, head, err := s.DB.TrialBalance(r.Context(), f)
		if err != nil {
			return head, err
		}
		for _, b := range tb.Lines() {
			*n++
			row := ledger.TrialBalanceRow(b)
			row[2] = ledger.Text(page.SubAccount(nm.accounts, b.Account))
			if err := rw.WriteRow(row...); err != nil {
				return head, err
			}
		}
		return head, rw.WriteRow(ledger.TrialBalanceTotalRow(tb)...)
	})
}

// handleAccountLedgerExport exports an account ledger with its opening
// balance and running balances (GET /ledger/accounts/export).
func (s *Server) handleAccountLedgerExport(w http.ResponseWriter, r *http.Request) error {
	f, err := accountFilter(ledgerFilterOf(r.URL.Query()))
	if err != nil {
		return err
	}
	nm, err := s.exportNames(r)
	if err != nil {
		return err
	}
	return s.export(w, r, "ledger_account", "明细账", AccountLedgerTable, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
		var normal string
		row := make([]ledger.Value, 0, len(AccountLedgerTable.Columns))
		return s.DB.ExportAccountLedger(r.Context(), f,
			func(a ledger.Account, opening decimal.Decimal) error {
				normal = a.Normal.Label()
				var from ledger.Value
				if !f.From.IsZero() {
					from = ledger.Date(f.From)
				}
				key := "全部明细"
				if f.ScopeID > 0 {
					key = page.SubAccount(nm.accounts, ledger.AccountKey{Code: f.Code, Scope: f.Scope, ID: f.ScopeID})
				}
				return rw.WriteRow(from, ledger.Value{}, ledger.Value{}, ledger.Text("期初余额"),
					ledger.Text(string(a.Code)+" "+a.Name), ledger.Value{}, ledger.Text(key), ledger.Value{}, ledger.Value{},
					ledger.Text(normal), ledger.Money(opening))
			},
			func(l *postgres.AccountLine) error {
				*n++
				var debit, credit ledger.Value
				if l.Side == ledger.Debit {
					debit = ledger.Money(l.Amount)
				} else {
					credit = ledger.Money(l.Amount)
				}
				row = append(row[:0], ledger.Date(l.ValueDate), ledger.Int(l.Seq), ledger.Int(int64(l.Line)),
					ledger.Text(l.Kind.Label()), ledger.Text(l.Memo), ledger.Text(page.RecordText(l.Record)),
					ledger.Text(page.SubAccount(nm.accounts, l.Account)), debit, credit, ledger.Text(normal), ledger.Money(l.Balance))
				return rw.WriteRow(row...)
			})
	})
}

// handleProjectRegisterExport exports the project register
// (GET /ledger/register/export).
func (s *Server) handleProjectRegisterExport(w http.ResponseWriter, r *http.Request) error {
	f, err := registerFilter(ledgerFilterOf(r.URL.Query()))
	if err != nil {
		return err
	}
	return s.export(w, r, "ledger_register", "项目台账", RegisterTable, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
		row := make([]ledger.Value, 0, len(RegisterTable.Columns))
		total := postgres.RegisterRow{Title: "合计"}
		head, err := s.DB.ExportRegister(r.Context(), f, func(p *postgres.RegisterRow) error {
			*n++
			total.Add(*p)
			return rw.WriteRow(registerRow(row[:0], p)...)
		})
		if err != nil {
			return head, err
		}
		return head, rw.WriteRow(registerRow(row[:0], &total)...)
	})
}

// handleAuditExport exports the audit log, optionally filtered by event and
// date, carrying the audit chain's head (GET /ledger/audit/export).
func (s *Server) handleAuditExport(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f postgres.AuditExportFilter
	var err error
	if f.From, err = parseDay("from", q.Get("from")); err != nil {
		return err
	}
	if f.To, err = parseDay("to", q.Get("to")); err != nil {
		return err
	}
	f.Event = q.Get("event")
	return s.export(w, r, "audit_log", "审计日志", AuditTable, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
		row := make([]ledger.Value, 0, len(AuditTable.Columns))
		return s.DB.ExportAudit(r.Context(), f, func(a *audit.Record) error {
			*n++
			row = append(row[:0], ledger.Int(a.Seq), ledger.DateTime(a.At), ledger.Text(a.ActorName),
				ledger.Text(page.RoleLabel(a.ActorRole)), ledger.Text(a.IP), ledger.Text(a.RequestID),
				ledger.Text(audit.EventLabel(a.Event)), ledger.Text(audit.ObjectLabel(a.ObjectType)), ledger.Text(a.ObjectID),
				ledger.Text(outcomeText(a.Outcome)), ledger.Text(page.AuditDetail(a.Detail)), ledger.Text(a.Hash))
			return rw.WriteRow(row...)
		})
	})
}

func outcomeText(o string) string {
	switch o {
	case audit.Success:
		return "成功"
	case audit.Failure:
		return "失败"
	case audit.Refused:
		return "拒绝"
	}
	return o
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// exportNames are the names an export writes instead of keys: the
// programme or project of a sub-account, the person behind a user ID.
type exportNames struct {
	accounts map[ledger.AccountKey]string
	users    map[int64]string
}

func (s *Server) exportNames(r *http.Request) (exportNames, error) {
	nm := exportNames{users: map[int64]string{}}
	var err error
	if nm.accounts, err = s.DB.SubAccountNames(r.Context(), nil); err != nil {
		return nm, err
	}
	us, err := s.DB.ListUsers(r.Context())
	if err != nil {
		return nm, err
	}
	for _, u := range us {
		nm.users[u.ID] = u.DisplayName + "（" + u.Username + "）"
	}
	return nm, nil
}

// user is the name of user id ("" for none, "系统" for the jobs' 0).
func (nm exportNames) user(id int64) string {
	if id == 0 {
		return ""
	}
	if n, ok := nm.users[id]; ok {
		return n
	}
	return "已删除的用户"
}
