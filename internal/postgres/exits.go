package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/conversion"
	"ite/internal/day"
	"ite/internal/ledger"
)

// ExitInput is one exit tranche as staff record it. Exactly one of Units,
// Fraction and Rest says how many units are sold.
type ExitInput struct {
	Date        time.Time
	Units       string
	Fraction    string
	Rest        bool
	BuyerKind   string // team | third_party (founders | new_investor | other: before issue 17, priced as team)
	Buyer       string
	MarketValue string // "" when unknown; for a third party the listing's transaction price (成交价)

	Exchange  string // third party: the property-rights exchange (产权交易所)
	ListingNo string // third party: 挂牌编号

	// The appraisal (资产评估), where one was made or the policy requires it.
	Appraiser      string
	ReportNo       string
	ReportDate     time.Time
	AppraisedValue string
	FilingNo       string                 // 国资备案号
	Report         *applications.Document // the report file, stored like other evidence
}

// Exit is a recorded exit tranche.
type Exit struct {
	ID             int64
	TrancheNo      int
	Date           time.Time
	Units          decimal.Decimal
	BuyerKind      string
	Buyer          string
	MarketValue    decimal.NullDecimal
	Cost           decimal.Decimal
	Interest       decimal.Decimal
	Proceeds       decimal.Decimal
	Concession     decimal.Decimal
	Gain           decimal.Decimal
	Status         applications.ExitStatus
	PreparedBy     int64
	PreparedByName string
	CheckedByName  string
	EntrySeq       int64
	ResultText     string
	RequestText    string

	Exchange            string
	ListingNo           string
	Appraiser           string
	AppraisalReportNo   string
	AppraisalReportDate *time.Time
	AppraisedValue      decimal.NullDecimal
	AppraisalFilingNo   string
	AppraisalDoc        int64  // 0 when none
	RateSeries          string // the policy's reference series code, "" when none
	RateSeriesName      string

	// The receipt of the proceeds (退出回款), once recorded.
	ReceivedOn       *time.Time
	ReceiptReference string
}

const exitColumns = `x.id, x.tranche_no, x.exit_date, x.units, x.buyer_kind, x.buyer, x.market_value, x.cost, x.interest,
	x.proceeds, x.concession, x.gain, x.status, x.prepared_by, pu.display_name, COALESCE(cu.display_name, ''),
	COALESCE(x.entry_seq, 0), x.result_text, x.request_text, x.exchange, x.listing_no, x.appraiser, x.appraisal_report_no,
	x.appraisal_report_date, x.appraised_value, x.appraisal_filing_no, COALESCE(x.appraisal_doc, 0), x.rate_series,
	COALESCE(rs.name, ''), er.received_on, COALESCE(er.bank_reference, '')`

const exitFrom = ` FROM exits x JOIN users pu ON pu.id = x.prepared_by LEFT JOIN users cu ON cu.id = x.checked_by
	LEFT JOIN rate_series rs ON rs.code = x.rate_series LEFT JOIN exit_receipts er ON er.exit_id = x.id `

func scanExit(row pgx.CollectableRow) (Exit, error) {
	var x Exit
	err := row.Scan(&x.ID, &x.TrancheNo, &x.Date, &x.Units, &x.BuyerKind, &x.Buyer, &x.MarketValue, &x.Cost, &x.Interest,
		&x.Proceeds, &x.Concession, &x.Gain, &x.Status, &x.PreparedBy, &x.PreparedByName, &x.CheckedByName, &x.EntrySeq, &x.ResultText,
		&x.RequestText, &x.Exchange, &x.ListingNo, &x.Appraiser, &x.AppraisalReportNo, &x.AppraisalReportDate, &x.AppraisedValue,
		&x.AppraisalFilingNo, &x.AppraisalDoc, &x.RateSeries, &x.RateSeriesName, &x.ReceivedOn, &x.ReceiptReference)
	return x, err
}

// ListExits returns an application's exit tranches in order.
func (db *DB) ListExits(ctx context.Context, appID int64) (_ []Exit, err error) {
	defer wrap(&err, "ListExits %d", appID)
	rows, _ := db.Pool.Query(ctx, `SELECT `+exitColumns+exitFrom+`WHERE x.application_id = $1 ORDER BY x.tranche_no, x.id`, appID)
	xs, err := pgx.CollectRows(rows, scanExit)
	return xs, mapError(err)
}

func unitScale(req conversion.ConvertRequest) int {
	if req.UnitScale != nil {
		return *req.UnitScale
	}
	if req.Unit == conversion.UnitShares {
		return 0
	}
	return 2
}

// ExitPreview is the engine's answer for a new tranche after the approved ones.
type ExitPreview struct {
	Request   conversion.ExitRequest
	Result    conversion.ExitResult
	Tranche   conversion.TrancheResult // the new one
	Remaining decimal.Decimal          // units still held after it
	Err       error
}

func previewExit(ctx context.Context, tx pgx.Tx, a applications.Application, in *ExitInput) (ExitPreview, error) {
	var p ExitPreview
	c, err := approvedConversion(ctx, tx, a.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, applications.Errorf(applications.Conflict, "项目尚未转股，不能退出。")
	} else if err != nil {
		return p, err
	}
	g, _, err := findSignedAgreement(ctx, tx, a.ID)
	if err != nil {
		return p, err
	}
	paid, _, err := paidOf(ctx, tx, a.ID)
	if err != nil {
		return p, err
	}
	rows, _ := tx.Query(ctx, `SELECT `+exitColumns+exitFrom+`WHERE x.application_id = $1 AND x.status = 'approved' ORDER BY x.tranche_no`, a.ID)
	done, err := pgx.CollectRows(rows, scanExit)
	if err != nil {
		return p, err
	}
	scale := unitScale(c.Request)
	var tranches []conversion.Tranche
	for _, x := range done {
		t := conversion.Tranche{Date: x.Date.Format(time.DateOnly), Units: x.Units.StringFixed(int32(scale))}
		if x.MarketValue.Valid {
			t.MarketValue = x.MarketValue.Decimal.StringFixed(2)
		}
		if x.BuyerKind == applications.BuyerThirdParty {
			t.Buyer = conversion.BuyerThirdParty
		}
		if x.AppraisedValue.Valid {
			t.AppraisedValue = x.AppraisedValue.Decimal.StringFixed(2)
		}
		tranches = append(tranches, t)
	}
	upTo := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) // the plan projects into the future
	if in != nil {
		t := conversion.Tranche{Date: in.Date.Format(time.DateOnly), Units: in.Units,
			Fraction: in.Fraction, Rest: in.Rest, MarketValue: in.MarketValue, AppraisedValue: in.AppraisedValue}
		if in.BuyerKind == applications.BuyerThirdParty {
			t.Buyer = conversion.BuyerThirdParty
		}
		tranches = append(tranches, t)
		upTo = in.Date
	}
	var rates []conversion.ReferenceRate
	if code := g.terms.ExitPolicy.ReferenceSeries; code != "" {
		if rates, err = exitRates(ctx, tx, code, done, upTo, in != nil); err != nil {
			return p, err
		}
	}
	p.Request = applications.ExitRequest(g.terms, c.Units, scale, c.ConversionDate, paid, tranches, rates)
	if len(tranches) == 0 {
		return p, nil
	}
	p.Result, p.Err = conversion.Exit(p.Request)
	if p.Err == nil {
		p.Tranche = p.Result.Tranches[len(p.Result.Tranches)-1]
		p.Remaining = decimal.RequireFromString(p.Result.Totals.UnitsRemaining)
	}
	return p, nil
}

// exitRates are the reference-rate entries an exit request carries (DOMAIN
// §17): up to the last approved tranche's date, the entries its stored
// request carried, so approved tranches recompute exactly as approved
// whatever the table says today; after it, the table's entries in force up
// to upTo. An entry added or corrected in the table on or before the last
// approved tranche cannot reach the new tranche that way: when the rate in
// force on upTo would differ from the table's, pricing is refused (check)
// rather than done on a stale rate. Errors: Conflict when the series is
// missing or changed behind an approved tranche.
func exitRates(ctx context.Context, tx pgx.Tx, code string, done []Exit, upTo time.Time, check bool) ([]conversion.ReferenceRate, error) {
	s, err := findRateSeries(ctx, tx, code)
	if applications.ErrorKind(err) == applications.NotFound {
		return nil, applications.Errorf(applications.Conflict, "协议约定的参考利率序列 %s 不存在，请管理员先在参考利率表中登记。", code)
	} else if err != nil {
		return nil, err
	}
	var out []conversion.ReferenceRate
	after := ""
	if len(done) > 0 {
		last := done[len(done)-1]
		after = last.Date.Format(time.DateOnly)
		var req conversion.ExitRequest
		if err := json.Unmarshal([]byte(last.RequestText), &req); err != nil {
			return nil, err
		}
		for _, r := range req.Policy.ReferenceRates {
			if r.From <= after {
				out = append(out, r)
			}
		}
	}
	table := s.ReferenceRates(upTo)
	for _, r := range table {
		if r.From > after {
			out = append(out, r)
		}
	}
	if check && len(done) > 0 && len(table) > 0 && (len(out) == 0 || out[len(out)-1] != table[len(table)-1]) {
		t := table[len(table)-1]
		return nil, applications.Errorf(applications.Conflict, "参考利率表在本项目已批准的退出日（%s）之前有新增或更正（%s 起 %s），"+
			"已批准的退出仍按当时的利率记录；本期按哪一利率计息须先核实，请联系管理员。", after, t.From,
			applications.Percent(decimal.RequireFromString(t.Rate)))
	}
	return out, nil
}

// PreviewExit prices a tranche under the policy without storing it (nil
// input: the realised totals so far). Errors: NotFound, Conflict.
func (db *DB) PreviewExit(ctx context.Context, appID int64, in *ExitInput) (_ ExitPreview, err error) {
	defer wrap(&err, "PreviewExit %d", appID)
	var p ExitPreview
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		a, err := findApplication(ctx, tx, appID, false)
		if err != nil {
			return err
		}
		p, err = previewExit(ctx, tx, a, in)
		return err
	})
	return p, err
}

func exitInputError(err error) error {
	var ie *conversion.InputError
	if errors.As(err, &ie) {
		field := ie.Field
		if strings.HasPrefix(field, "tranches") {
			if i := strings.LastIndexByte(field, '.'); i >= 0 {
				field = field[i+1:]
			}
		}
		return applications.FieldError(field, "退出测算无法完成："+ie.Message)
	}
	return err
}

// PrepareExit records an exit tranche priced by the engine for an
// approver. A retried submission with the same key returns the first.
// Errors: NotFound, Conflict, Invalid.
func (db *DB) PrepareExit(ctx context.Context, actor audit.Actor, appID int64, in ExitInput, key string) (_ int64, err error) {
	defer wrap(&err, "PrepareExit %d", appID)
	if err := checkIdempotencyKey(key); err != nil {
		return 0, err
	}
	if err := checkExitInput(&in); err != nil {
		return 0, err
	}
	var id int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		if err := tx.QueryRow(ctx, `SELECT id FROM exits WHERE idempotency_key = $1`, key).Scan(&id); err == nil {
			return nil
		}
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		if a.State != applications.StateConverted && a.State != applications.StateExiting {
			return applications.Errorf(applications.Conflict, "只有「持股中」或「退出中」的项目可以退出（当前为「%s」）。", a.State.Label())
		}
		if in.Date.After(day.Today(now)) {
			return applications.FieldError("date", "退出日期不能晚于今天。")
		}
		p, err := previewExit(ctx, tx, a, &in)
		if err != nil {
			return err
		}
		c, err := approvedConversion(ctx, tx, appID)
		if err != nil {
			return err
		}
		g, _, err := findSignedAgreement(ctx, tx, appID)
		if err != nil {
			return err
		}
		if p.Err != nil {
			return exitInputError(p.Err)
		}
		if err := checkAppraisal(in, g.terms, c.ConversionDate); err != nil {
			return err
		}
		docID, err := insertEvidence(ctx, tx, now, actor, appID, in.Report)
		if err != nil {
			return err
		}
		var reportDate *time.Time
		if !in.ReportDate.IsZero() {
			reportDate = &in.ReportDate
		}
		var av decimal.NullDecimal
		if t := p.Tranche; t.AppraisedValue != nil {
			av = decimal.NewNullDecimal(decimal.RequireFromString(*t.AppraisedValue))
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM exits WHERE application_id = $1 AND status = 'approved'`, appID).Scan(&n); err != nil {
			return err
		}
		reqText, _ := json.Marshal(p.Request)
		resText, _ := json.Marshal(p.Result)
		t := p.Tranche
		var mv decimal.NullDecimal
		if t.MarketValue != nil {
			mv = decimal.NewNullDecimal(decimal.RequireFromString(*t.MarketValue))
		}
		err = tx.QueryRow(ctx, `INSERT INTO exits (application_id, tranche_no, exit_date, units, buyer_kind, buyer, market_value,
			cost, interest, proceeds, concession, gain, request_text, result_text, prepared_by, prepared_at, idempotency_key,
			exchange, listing_no, appraiser, appraisal_report_no, appraisal_report_date, appraised_value, appraisal_filing_no,
			appraisal_doc, rate_series)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26) RETURNING id`,
			appID, n+1, in.Date, t.Units, in.BuyerKind, in.Buyer, mv, t.Cost, t.Interest, t.Proceeds, t.Concession, t.Gain,
			string(reqText), string(resText), actor.ID, now, key,
			in.Exchange, in.ListingNo, in.Appraiser, in.ReportNo, reportDate, av, in.FilingNo, docID,
			g.terms.ExitPolicy.ReferenceSeries).Scan(&id)
		if err != nil {
			if applications.ErrorKind(mapError(err)) == applications.Conflict {
				return applications.Errorf(applications.Conflict, "已有待审批的退出，请先审批或退回。")
			}
			return err
		}
		if err := notifyWhoMay(ctx, tx, now, NotifyApproval, applications.ActionApproveEquityProposal, "退出待审批：“"+a.Title+"”第 "+fmt.Sprint(n+1)+" 期", "/applications/"+itoa64(appID)+"/equity"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "exit_prepare", ObjectType: RecordExit,
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: map[string]any{"application_id": appID, "units": t.Units,
				"proceeds": t.Proceeds, "cost": t.Cost, "gain": t.Gain, "buyer_kind": in.BuyerKind,
				"rate": t.Rate, "rate_basis": t.RateBasis, "appraised_value": t.AppraisedValue, "listing_no": in.ListingNo}})
	})
	return id, err
}

// checkExitInput checks what the form gives before the calculator runs:
// the buyer, and for a public listing the exchange, listing number and
// transaction price. Errors: Invalid with the field.
func checkExitInput(in *ExitInput) error {
	in.Exchange, in.ListingNo = strings.TrimSpace(in.Exchange), strings.TrimSpace(in.ListingNo)
	switch in.BuyerKind {
	case applications.BuyerTeam, "founders", "new_investor", "other":
		if in.Exchange != "" || in.ListingNo != "" {
			return applications.FieldError("buyer_kind", "填写了交易所或挂牌编号：挂牌转让请选择“第三方（产权交易所挂牌）”。")
		}
	case applications.BuyerThirdParty:
		switch {
		case in.Exchange == "":
			return applications.FieldError("exchange", "第三方挂牌受让须填写产权交易所名称。")
		case in.ListingNo == "":
			return applications.FieldError("listing_no", "第三方挂牌受让须填写挂牌编号。")
		case in.MarketValue == "":
			return applications.FieldError("transaction_price", "第三方挂牌受让须填写成交价（元）。")
		}
	default:
		return applications.FieldError("buyer_kind", "请选择受让方：团队回购或第三方（产权交易所挂牌）。")
	}
	return nil
}

// checkAppraisal: an appraisal recorded carries its appraiser, report
// number and date and the report file; one the policy requires (the
// calculator has already insisted on its value) also its state-asset
// filing number. Errors: Invalid with the field.
func checkAppraisal(in ExitInput, t applications.Terms, converted time.Time) error {
	given := in.Appraiser != "" || in.ReportNo != "" || !in.ReportDate.IsZero() || in.FilingNo != "" || in.Report != nil
	if in.AppraisedValue == "" {
		if given {
			return applications.FieldError("appraised_value", "填写了评估信息，请同时填写评估值（元）。")
		}
		return nil
	}
	n := t.ExitPolicy.AppraisalAfterYears
	required := n != nil && in.Date.After(day.AddYears(converted, *n))
	switch {
	case in.Appraiser == "":
		return applications.FieldError("appraiser", "请填写评估机构。")
	case in.ReportNo == "":
		return applications.FieldError("report_no", "请填写评估报告编号。")
	case in.ReportDate.IsZero():
		return applications.FieldError("report_date", "请填写评估报告日期。")
	case in.ReportDate.After(in.Date):
		return applications.FieldError("report_date", "评估报告日期不能晚于退出日期。")
	case required && in.FilingNo == "":
		return applications.FieldError("filing_no", "政策要求评估：请填写国资备案号。")
	case in.Report == nil:
		return applications.FieldError("evidence", "请上传评估报告文件。")
	}
	return nil
}

// ApproveExit posts Dr 1002 proceeds / Cr 1511 cost / Cr 6111 gain (or Dr
// 6711 loss), returns the proceeds to the fund, and moves the project to
// exiting, or exited when no units remain. Errors: NotFound, Forbidden,
// Conflict.
func (db *DB) ApproveExit(ctx context.Context, actor audit.Actor, id int64) (err error) {
	defer wrap(&err, "ApproveExit %d", id)
	err = db.checkTx(ctx, actor, RecordExit, id, "approve", func(tx pgx.Tx, now time.Time, chk *checker) error {
		var appID, preparedBy int64
		var status applications.ExitStatus
		if err := tx.QueryRow(ctx, `SELECT application_id, prepared_by, status FROM exits WHERE id = $1 FOR UPDATE`, id).
			Scan(&appID, &preparedBy, &status); err != nil {
			return err
		}
		if err := chk.notMaker(preparedBy, "退出"); err != nil {
			return err
		}
		if done, err := alreadyApproved(status, "退出"); done {
			return err
		}
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		if a.State != applications.StateConverted && a.State != applications.StateExiting {
			return applications.Errorf(applications.Conflict, "项目当前状态为「%s」，不能再批准退出。", a.State.Label())
		}
		rows, _ := tx.Query(ctx, `SELECT `+exitColumns+exitFrom+`WHERE x.id = $1`, id)
		x, err := pgx.CollectExactlyOneRow(rows, scanExit)
		if err != nil {
			return err
		}
		e, err := ledger.Exit(a.ProgrammeID, appID, x.Proceeds, x.Cost)
		if err != nil {
			return applications.InvalidLedger(err)
		}
		e.Memo = fmt.Sprintf("股权退出：%s 第 %d 期，%s 单位", a.Title, x.TrancheNo, x.Units.String())
		e.ValueDate, e.Record = x.Date, ledger.RecordRef{Type: RecordExit, ID: id}
		e.MakerID, e.CheckerID, e.IdempotencyKey = preparedBy, actor.ID, RecordExit+"/"+itoa64(id)
		// An exit at a loss passes the loss tolerance gate (DOMAIN §16).
		if err := checkLoss(ctx, tx, now, actor, RecordExit, id, a.ProgrammeID, x.Cost.Sub(x.Proceeds)); err != nil {
			return err
		}
		// The fund row before the ledger chain, the order every money
		// action takes them in, so two of them never deadlock.
		if _, err := tx.Exec(ctx, `INSERT INTO programme_funds (programme_id, updated_at) VALUES ($1, $2)
			ON CONFLICT (programme_id) DO NOTHING`, a.ProgrammeID, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE programme_funds SET balance = balance + $2, updated_at = $3 WHERE programme_id = $1`,
			a.ProgrammeID, x.Proceeds, now); err != nil {
			return err
		}
		posted, _, err := postEntry(ctx, tx, now, e)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE exits SET status = 'approved', checked_by = $2, checked_at = $3, entry_seq = $4 WHERE id = $1`,
			id, actor.ID, now, posted.Seq); err != nil {
			return err
		}
		c, err := approvedConversion(ctx, tx, appID)
		if err != nil {
			return err
		}
		var sold decimal.Decimal
		if err := tx.QueryRow(ctx, `SELECT COALESCE(sum(units), 0) FROM exits WHERE application_id = $1 AND status = 'approved'`, appID).Scan(&sold); err != nil {
			return err
		}
		if a.State == applications.StateConverted {
			if _, err := transitionTx(ctx, tx, now, actor, appID, applications.StateExiting, fmt.Sprintf("第 1 期退出（第 %d 号凭证）", posted.Seq), nil); err != nil {
				return err
			}
		}
		if sold.Equal(c.Units) {
			if _, err := transitionTx(ctx, tx, now, actor, appID, applications.StateExited, "全部股权已退出", nil); err != nil {
				return err
			}
		}
		if err := notify(ctx, tx, now, NotifyExitApproved, preparedBy, fmt.Sprintf("退出方案已批准：“%s”第 %d 期，回款 %s 元，请登记回款。",
			a.Title, x.TrancheNo, applications.FormatAmount(x.Proceeds)), "/applications/"+itoa64(appID)+"/equity#exit-"+itoa64(id)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "exit_approve", ObjectType: RecordExit,
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: map[string]any{"entry_seq": posted.Seq,
				"proceeds": x.Proceeds.StringFixed(2), "units_sold_total": sold.String()}})
	})
	return mapError(err)
}

// ExitReceiptInput is the buyer's payment for an approved exit arriving in
// the fund's account, as staff or the trustee record it.
type ExitReceiptInput struct {
	ReceivedOn time.Time
	Amount     decimal.Decimal
	Reference  string // the bank's reference (银行回单号)
}

// RecordExitReceipt records that an approved exit's proceeds arrived
// (退出回款). The ledger carries the proceeds from the exit's approval, so
// the receipt moves no money: it is the evidence, and must equal the
// proceeds to the fen. One per exit; a retried submission with the same
// key is accepted once. It returns the exit's application. Errors:
// NotFound, Conflict (not approved, already recorded), Invalid.
func (db *DB) RecordExitReceipt(ctx context.Context, actor audit.Actor, exitID int64, in ExitReceiptInput, key string) (_ int64, err error) {
	defer wrap(&err, "RecordExitReceipt %d", exitID)
	if err := checkIdempotencyKey(key); err != nil {
		return 0, err
	}
	in.Reference = strings.TrimSpace(in.Reference)
	switch {
	case in.ReceivedOn.IsZero():
		return 0, applications.FieldError("received_on", "请填写回款到账日期。")
	case !in.Amount.IsPositive():
		return 0, applications.FieldError("amount", "请填写回款金额（元），须大于 0。")
	case in.Reference == "":
		return 0, applications.FieldError("reference", "请填写银行回单号。")
	}
	var appID int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var done int64
		if err := tx.QueryRow(ctx, `SELECT x.application_id FROM exit_receipts r JOIN exits x ON x.id = r.exit_id
			WHERE r.idempotency_key = $1`, key).Scan(&done); err == nil {
			appID = done
			return nil
		}
		var status applications.ExitStatus
		var proceeds decimal.Decimal
		var exitDate time.Time
		var tranche int
		if err := tx.QueryRow(ctx, `SELECT application_id, status, proceeds, exit_date, tranche_no FROM exits WHERE id = $1 FOR UPDATE`, exitID).
			Scan(&appID, &status, &proceeds, &exitDate, &tranche); err != nil {
			return err
		}
		switch {
		case status != applications.ExitApproved:
			return applications.Errorf(applications.Conflict, "这一期退出尚未批准，批准后才能登记回款。")
		case in.ReceivedOn.Before(exitDate):
			return applications.FieldError("received_on", "回款到账日期不能早于退出日期（"+day.Chinese(exitDate)+"）。")
		case in.ReceivedOn.After(day.Today(now)):
			return applications.FieldError("received_on", "回款到账日期不能晚于今天。")
		case !in.Amount.Equal(proceeds):
			return applications.FieldError("amount", "回款金额应等于批准的回收金额 "+applications.FormatAmount(proceeds)+" 元；金额不符请联系经办人员核实后再登记。")
		}
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO exit_receipts (exit_id, received_on, amount, bank_reference, recorded_by, recorded_at, idempotency_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, exitID, in.ReceivedOn, in.Amount, in.Reference, actor.ID, now, key).Scan(&id)
		if err != nil {
			if applications.ErrorKind(mapError(err)) == applications.Conflict {
				return applications.Errorf(applications.Conflict, "这一期退出的回款已经登记过。")
			}
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "exit_receipt_record", ObjectType: "exit_receipt",
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: map[string]any{"application_id": appID, "exit_id": exitID,
				"tranche_no": tranche, "amount": in.Amount.StringFixed(2), "received_on": in.ReceivedOn.Format(time.DateOnly),
				"reference": in.Reference}})
	})
	return appID, err
}
