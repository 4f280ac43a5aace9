package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/internal/ledger"
)

// Synthetic money data for tests, benchmarks and demo seeds. Like
// synthetic.go, nothing here is reachable from a request: it bypasses the
// review, decision and notice workflow (SyntheticContract) and the
// per-entry path (LoadSyntheticLedger) on purpose.

// SyntheticContractInput describes a project to create directly in state
// contracted, with a signed agreement.
type SyntheticContractInput struct {
	ProgrammeID  int64
	EnterpriseID int64
	CreatedBy    int64 // a user; also the agreement's author
	Title        string
	Approved     decimal.Decimal
	// Terms of the agreement; the programme's template when nil.
	Terms    *applications.Terms
	SignedOn time.Time
}

// SyntheticContract creates a contracted application with an approved
// amount and a signed agreement for that amount, and returns its ID.
func (db *DB) SyntheticContract(ctx context.Context, in SyntheticContractInput) (_ int64, err error) {
	defer wrap(&err, "SyntheticContract")
	var id int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		p, err := findProgramme(ctx, tx, in.ProgrammeID, false)
		if err != nil {
			return err
		}
		terms := p.TermsTemplate
		if in.Terms != nil {
			if terms, err = json.Marshal(in.Terms); err != nil {
				return err
			}
		}
		if _, err := applications.ParseTerms(terms); err != nil {
			return err
		}
		title := in.Title
		if title == "" {
			title = "合成项目"
		}
		if err := tx.QueryRow(ctx, `
			INSERT INTO applications (programme_id, enterprise_id, title, sector, requested_amount, content, state,
				state_changed_at, created_by, created_at, updated_at, approved_amount)
			VALUES ($1, $2, $3, 'new_energy_materials', $4, '{}', 'contracted', $5, $6, $5, $5, $4) RETURNING id`,
			in.ProgrammeID, in.EnterpriseID, title, in.Approved, now, in.CreatedBy).Scan(&id); err != nil {
			return err
		}
		signed := in.SignedOn
		if signed.IsZero() {
			signed = day.Today(now)
		}
		_, err = tx.Exec(ctx, `INSERT INTO agreements (application_id, version, terms, amount, status, signed_on, created_by, created_at)
			VALUES ($1, 1, $2, $3, 'signed', $4, $5, $6)`, id, string(terms), in.Approved, day.Date(signed), in.CreatedBy, now)
		return err
	})
	return id, err
}

// SyntheticLedgerInput describes a bulk-loaded ledger.
type SyntheticLedgerInput struct {
	ProgrammeID int64
	Projects    []int64 // applications to disburse to, round robin; each needs approved_amount
	MakerID     int64
	CheckerID   int64
	Postings    int // total postings; every entry has two
	ValueDate   time.Time
}

// LoadSyntheticLedger appends a synthetic ledger of in.Postings postings
// after the current head: entries alternate between an appropriation of
// 1,000.00 (Dr 1002 / Cr 3001) and a disbursement of 1,000.00 to the
// next project (Dr 1221 / Cr 1002), chained and hashed exactly as real
// ones, written with COPY in transactions of 50,000 entries. The fund and
// the projects' disbursed totals are raised to match, so `ledger verify`
// passes on the result. The record type is "synthetic".
func (db *DB) LoadSyntheticLedger(ctx context.Context, in SyntheticLedgerInput) (err error) {
	defer wrap(&err, "LoadSyntheticLedger")
	if len(in.Projects) == 0 || in.Postings < 2 {
		return fmt.Errorf("synthetic ledger: need projects and at least 2 postings")
	}
	amount := decimal.RequireFromString("1000.00")
	entries := in.Postings / 2
	const batch = 50_000
	valueDate := day.Date(in.ValueDate)
	created := db.Now().UTC()
	perProject := map[int64]decimal.Decimal{}
	funds := decimal.Zero
	for start := 0; start < entries; start += batch {
		n := min(batch, entries-start)
		err := db.inTx(ctx, func(tx pgx.Tx) error {
			alg, err := lockChain(ctx, tx, ledgerChainLock)
			if err != nil {
				return err
			}
			head, err := ledgerHead(ctx, tx)
			if err != nil {
				return err
			}
			erows := make([][]any, 0, n)
			prows := make([][]any, 0, 2*n)
			for i := range n {
				k := start + i
				var e ledger.Entry
				if k%2 == 0 {
					e, err = ledger.Appropriation(in.ProgrammeID, amount)
				} else {
					app := in.Projects[(k/2)%len(in.Projects)]
					e, err = ledger.Disbursement(in.ProgrammeID, app, amount)
					perProject[app] = perProject[app].Add(amount)
				}
				if err != nil {
					return err
				}
				e.ValueDate = valueDate.AddDate(0, 0, -(entries-k)/1000)
				e.CreatedAt = created.Add(time.Duration(k) * time.Millisecond)
				e.Record = ledger.RecordRef{Type: "synthetic", ID: int64(k + 1)}
				e.MakerID, e.CheckerID = in.MakerID, in.CheckerID
				e.IdempotencyKey = "synthetic/" + strconv.FormatInt(head.Seq+1, 10)
				e.HashAlg = alg
				if e, err = ledger.Seal(head, e); err != nil {
					return err
				}
				head = e.Head()
				erows = append(erows, []any{e.Seq, day.Date(e.ValueDate), e.CreatedAt, string(e.Kind), e.Memo, e.Record.Type,
					e.Record.ID, e.MakerID, e.CheckerID, e.IdempotencyKey, e.PrevHash, e.Hash, e.HashAlg})
				for j, p := range e.Postings {
					prows = append(prows, []any{e.Seq, int16(j + 1), string(p.Account.Code), string(p.Account.Scope),
						p.Account.ID, string(p.Side), p.Amount})
				}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ledger_entries"}, []string{"seq", "value_date", "created_at",
				"kind", "memo", "record_type", "record_id", "maker_id", "checker_id", "idempotency_key", "prev_hash", "hash",
				"hash_alg"}, pgx.CopyFromRows(erows)); err != nil {
				return err
			}
			_, err = tx.CopyFrom(ctx, pgx.Identifier{"ledger_postings"}, []string{"entry_seq", "line", "account_code",
				"scope", "scope_id", "side", "amount"}, pgx.CopyFromRows(prows))
			return err
		})
		if err != nil {
			return err
		}
	}
	appropriations := decimal.NewFromInt(int64((entries + 1) / 2)).Mul(amount)
	disbursed := decimal.NewFromInt(int64(entries / 2)).Mul(amount)
	funds = appropriations.Sub(disbursed)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO programme_funds (programme_id) VALUES ($1) ON CONFLICT DO NOTHING`, in.ProgrammeID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE programme_funds SET balance = balance + $2, appropriated = appropriated + $3,
			disbursed = disbursed + $4 WHERE programme_id = $1`, in.ProgrammeID, funds, appropriations, disbursed); err != nil {
			return err
		}
		for app, d := range perProject {
			if _, err := tx.Exec(ctx, `UPDATE applications SET disbursed = disbursed + $2 WHERE id = $1`, app, d); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `ANALYZE ledger_entries; ANALYZE ledger_postings`)
		return err
	})
}
