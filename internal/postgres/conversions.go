package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/conversion"
	"ite/internal/day"
	"ite/internal/ledger"
)

// Conversions (转股, DOMAIN §8–9): the calculator's preview, the proposal,
// its approval with the ledger entry, and the registration that follows.

// paidOf returns the approved disbursements of a project, oldest first,
// and their sum (the conversion principal, the exit cost basis).
func paidOf(ctx context.Context, q ledgerQuerier, appID int64) ([]applications.Paid, decimal.Decimal, error) {
	rows, err := q.Query(ctx, `SELECT value_date, amount FROM disbursements WHERE application_id = $1 AND status = 'approved'
		ORDER BY value_date, id`, appID)
	if err != nil {
		return nil, decimal.Zero, err
	}
	paid, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (applications.Paid, error) {
		var p applications.Paid
		return p, r.Scan(&p.Date, &p.Amount)
	})
	sum := decimal.Zero
	for _, p := range paid {
		sum = sum.Add(p.Amount)
	}
	return paid, sum, err
}

// ConversionPreview is the calculator's answer before anything is stored.
type ConversionPreview struct {
	Event   applications.TriggerEvent
	Request conversion.ConvertRequest
	Result  conversion.ConvertResult
	Paid    []applications.Paid
	Err     error // the engine refused the inputs (an *conversion.InputError)
}

func previewConversion(ctx context.Context, tx pgx.Tx, a applications.Application, appraised string) (ConversionPreview, error) {
	var p ConversionPreview
	g, ok, err := findSignedAgreement(ctx, tx, a.ID)
	if err != nil || !ok {
		return p, errOr(err, applications.Errorf(applications.Conflict, "项目没有生效的协议。"))
	}
	var eventID int64
	err = tx.QueryRow(ctx, `SELECT id FROM trigger_events WHERE application_id = $1 AND status = 'verified' AND satisfies
		ORDER BY event_date DESC, id DESC LIMIT 1`, a.ID).Scan(&eventID)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, applications.Errorf(applications.Conflict, "没有经核实且满足转股条件的事项，不能转股。")
	} else if err != nil {
		return p, err
	}
	if p.Event, err = findEvent(ctx, tx, eventID); err != nil {
		return p, err
	}
	if p.Paid, _, err = paidOf(ctx, tx, a.ID); err != nil {
		return p, err
	}
	units, unit := p.Event.PreMoneyUnits, p.Event.Unit
	if p.Event.Kind != applications.EventFinancing {
		// Without a round the company's units come from the enterprise's
		// registered capital (有限责任公司).
		var capital decimal.NullDecimal
		if err := tx.QueryRow(ctx, `SELECT registered_capital FROM enterprises WHERE id = $1`, a.EnterpriseID).Scan(&capital); err != nil {
			return p, err
		}
		units, unit = capital.Decimal, g.terms.Unit
	}
	p.Request = applications.ConversionRequest(g.terms, p.Event, p.Paid, units, unit, appraised)
	p.Result, p.Err = conversion.Convert(p.Request)
	return p, nil
}

func errOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// PreviewConversion computes the conversion from the frozen terms and the
// verified event without storing anything. Errors: NotFound, Conflict.
func (db *DB) PreviewConversion(ctx context.Context, appID int64, appraised string) (_ ConversionPreview, err error) {
	defer wrap(&err, "PreviewConversion %d", appID)
	var p ConversionPreview
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		a, err := findApplication(ctx, tx, appID, false)
		if err != nil {
			return err
		}
		if a.State != applications.StateConversionDue {
			return applications.Errorf(applications.Conflict, "只有「待转股」的项目可以测算转股（当前为「%s」）。", a.State.Label())
		}
		p, err = previewConversion(ctx, tx, a, appraised)
		return err
	})
	return p, err
}

// Conversion is a prepared or approved conversion with its certificate data.
type Conversion struct {
	ID               int64
	ApplicationID    int64
	EventID          int64
	RequestText      string
	ResultText       string
	Digest           string
	Principal        decimal.Decimal
	Units            decimal.Decimal
	Status           applications.ConversionStatus
	PreparedBy       int64
	PreparedByName   string
	CheckedByName    string
	ConversionDate   time.Time
	RegistrationDate time.Time
	RegistrationDoc  int64
	EntrySeq         int64
	Request          conversion.ConvertRequest
	Result           conversion.ConvertResult
}

const conversionColumns = `c.id, c.application_id, c.event_id, c.request_text, c.result_text, c.digest, c.principal, c.units,
	c.status, c.prepared_by, pu.display_name, COALESCE(cu.display_name, ''), c.conversion_date, c.registration_date,
	COALESCE(c.registration_doc, 0), COALESCE(c.entry_seq, 0)`

const conversionFrom = ` FROM conversions c JOIN users pu ON pu.id = c.prepared_by LEFT JOIN users cu ON cu.id = c.checked_by `

func scanConversion(row pgx.CollectableRow) (Conversion, error) {
	var c Conversion
	var reg *time.Time
	err := row.Scan(&c.ID, &c.ApplicationID, &c.EventID, &c.RequestText, &c.ResultText, &c.Digest, &c.Principal, &c.Units,
		&c.Status, &c.PreparedBy, &c.PreparedByName, &c.CheckedByName, &c.ConversionDate, &reg, &c.RegistrationDoc, &c.EntrySeq)
	if err != nil {
		return c, err
	}
	if reg != nil {
		c.RegistrationDate = *reg
	}
	if err := json.Unmarshal([]byte(c.RequestText), &c.Request); err != nil {
		return c, err
	}
	return c, json.Unmarshal([]byte(c.ResultText), &c.Result)
}

// ListConversions returns an application's conversions, newest first.
func (db *DB) ListConversions(ctx context.Context, appID int64) (_ []Conversion, err error) {
	defer wrap(&err, "ListConversions %d", appID)
	rows, _ := db.Pool.Query(ctx, `SELECT `+conversionColumns+conversionFrom+`WHERE c.application_id = $1 ORDER BY c.id DESC`, appID)
	cs, err := pgx.CollectRows(rows, scanConversion)
	return cs, mapError(err)
}

// FindConversion returns one conversion. Errors: NotFound.
func (db *DB) FindConversion(ctx context.Context, id int64) (_ Conversion, err error) {
	defer wrap(&err, "FindConversion %d", id)
	rows, _ := db.Pool.Query(ctx, `SELECT `+conversionColumns+conversionFrom+`WHERE c.id = $1`, id)
	c, err := pgx.CollectExactlyOneRow(rows, scanConversion)
	return c, mapError(err)
}

func approvedConversion(ctx context.Context, tx pgx.Tx, appID int64) (Conversion, error) {
	rows, _ := tx.Query(ctx, `SELECT `+conversionColumns+conversionFrom+`WHERE c.application_id = $1 AND c.status = 'approved'`, appID)
	return pgx.CollectExactlyOneRow(rows, scanConversion)
}

// Digest is the certificate's integrity hash over the exact stored request
// and result.
func Digest(requestText, resultText string) string {
	h := sha256.Sum256([]byte(requestText + "\n" + resultText))
	return hex.EncodeToString(h[:])
}

// PrepareConversion stores staff's conversion (the exact request and
// result JSON) for an approver. A retried submission with the same key
// returns the first. Errors: NotFound, Conflict, Invalid.
func (db *DB) PrepareConversion(ctx context.Context, actor audit.Actor, appID int64, appraised, key string) (_ int64, err error) {
	defer wrap(&err, "PrepareConversion %d", appID)
	if err := checkIdempotencyKey(key); err != nil {
		return 0, err
	}
	var id int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		if err := tx.QueryRow(ctx, `SELECT id FROM conversions WHERE idempotency_key = $1`, key).Scan(&id); err == nil {
			return nil
		}
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		if a.State != applications.StateConversionDue {
			return applications.Errorf(applications.Conflict, "只有「待转股」的项目可以办理转股（当前为「%s」）。", a.State.Label())
		}
		p, err := previewConversion(ctx, tx, a, appraised)
		if err != nil {
			return err
		}
		if p.Err != nil {
			var ie *conversion.InputError
			if errors.As(p.Err, &ie) {
				return applications.FieldError(ie.Field, "转股测算无法完成："+ie.Message)
			}
			return p.Err
		}
		reqText, _ := json.Marshal(p.Request)
		resText, _ := json.Marshal(p.Result)
		principal := decimal.Zero
		for _, d := range p.Paid {
			principal = principal.Add(d.Amount)
		}
		units := decimal.RequireFromString(p.Result.Units)
		date, _ := time.Parse(time.DateOnly, p.Request.ConversionDate)
		err = tx.QueryRow(ctx, `INSERT INTO conversions (application_id, event_id, request, result, request_text, result_text, digest,
			principal, units, prepared_by, prepared_at, conversion_date, idempotency_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			appID, p.Event.ID, reqText, resText, string(reqText), string(resText), Digest(string(reqText), string(resText)),
			principal, units, actor.ID, now, date, key).Scan(&id)
		if err != nil {
			if applications.ErrorKind(mapError(err)) == applications.Conflict {
				return applications.Errorf(applications.Conflict, "该项目已有待审批或已批准的转股。")
			}
			return err
		}
		if err := notifyWhoMay(ctx, tx, now, NotifyApproval, applications.ActionApproveEquityProposal, "转股待审批：“"+a.Title+"”", "/applications/"+itoa64(appID)+"/equity"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "conversion_prepare", ObjectType: RecordConversion,
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: map[string]any{"application_id": appID,
				"units": p.Result.Units, "price": p.Result.ConversionPrice, "basis": p.Result.PriceBasis}})
	})
	return id, err
}

// ApproveConversion is the approver's sign-off: Dr 1511 / Cr 1221 for the
// disbursed principal, the application converted, in one transaction.
// Approving an approved conversion again is a no-op. Errors: NotFound,
// Forbidden (the maker), Conflict.
func (db *DB) ApproveConversion(ctx context.Context, actor audit.Actor, id int64) (err error) {
	defer wrap(&err, "ApproveConversion %d", id)
	err = db.checkTx(ctx, actor, RecordConversion, id, "approve", func(tx pgx.Tx, now time.Time, chk *checker) error {
		rows, _ := tx.Query(ctx, `SELECT `+conversionColumns+conversionFrom+`WHERE c.id = $1 FOR UPDATE OF c`, id)
		c, err := pgx.CollectExactlyOneRow(rows, scanConversion)
		if err != nil {
			return err
		}
		if err := chk.notMaker(c.PreparedBy, "转股"); err != nil {
			return err
		}
		if done, err := alreadyApproved(c.Status, "转股"); done {
			return err
		}
		a, err := findApplication(ctx, tx, c.ApplicationID, true)
		if err != nil {
			return err
		}
		e, err := ledger.Conversion(a.ID, c.Principal)
		if err != nil {
			return applications.InvalidLedger(err)
		}
		e.Memo = fmt.Sprintf("先投资金转为股权：%s，%s 单位", a.Title, c.Result.Units)
		e.ValueDate, e.Record = c.ConversionDate, ledger.RecordRef{Type: RecordConversion, ID: c.ID}
		e.MakerID, e.CheckerID, e.IdempotencyKey = c.PreparedBy, actor.ID, RecordConversion+"/"+itoa64(c.ID)
		posted, _, err := postEntry(ctx, tx, now, e)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE conversions SET status = 'approved', checked_by = $2, checked_at = $3, entry_seq = $4 WHERE id = $1`,
			id, actor.ID, now, posted.Seq); err != nil {
			return err
		}
		if _, err := transitionTx(ctx, tx, now, actor, a.ID, applications.StateConverted,
			fmt.Sprintf("转股审批通过（第 %d 号凭证）", posted.Seq), nil); err != nil {
			return err
		}
		if err := notifyEnterprise(ctx, tx, now, NotifyOutcome, a.ID, "项目“"+a.Title+"”转股已审批，请办理工商变更登记。", ""); err != nil {
			return err
		}
		if err := notifyPlatform(ctx, tx, now, NotifyHoldingConverted, a.ID, "项目“"+a.Title+"”已完成转股，由本机构受托持有："+c.Result.Units+" 单位。", ""); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "conversion_approve", ObjectType: RecordConversion,
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: map[string]any{"entry_seq": posted.Seq, "digest": c.Digest}})
	})
	return mapError(err)
}

// RecordRegistration stores the 工商变更 date and, when given, the
// registration document (already stored as a blob) of an approved
// conversion. Errors: NotFound, Conflict, Invalid.
func (db *DB) RecordRegistration(ctx context.Context, actor audit.Actor, convID int64, date time.Time, evidence *applications.Document) (err error) {
	defer wrap(&err, "RecordRegistration %d", convID)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var status applications.ConversionStatus
		var convDate time.Time
		var appID int64
		if err := tx.QueryRow(ctx, `SELECT status, conversion_date, application_id FROM conversions WHERE id = $1 FOR UPDATE`, convID).
			Scan(&status, &convDate, &appID); err != nil {
			return err
		}
		if status != applications.ConversionApproved {
			return applications.Errorf(applications.Conflict, "转股审批通过后才能登记工商变更。")
		}
		if date.Before(convDate) || date.After(day.Today(now)) {
			return applications.FieldError("registration_date", "工商变更日期须在转股日之后，且不晚于今天。")
		}
		doc, err := insertEvidence(ctx, tx, now, actor, appID, evidence)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE conversions SET registration_date = $2, registration_doc = COALESCE($3, registration_doc) WHERE id = $1`,
			convID, date, doc); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "conversion_registration", ObjectType: RecordConversion,
			ObjectID: itoa64(convID), Outcome: audit.Success, Detail: map[string]any{"registration_date": date.Format(time.DateOnly)}})
	})
}
