package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
)

// Bulk loading of synthetic data (`server seed --synthetic N`, the queue
// benchmark). Everything here bypasses the per-row audit trail on purpose:
// the seed writes one audit row for the whole run (RecordAudit), and the
// rows are written with COPY, hundreds of thousands at a time. Nothing
// here is reachable from a request.

// Sequence names an identity sequence whose values ReserveIDs hands out.
type Sequence string

// The identity sequences the bulk loader assigns from. Rows loaded with
// COPY carry their ids (COPY writes identity columns as given, like
// OVERRIDING SYSTEM VALUE), so related rows can point at each other before
// anything is written, and the ids stay out of the way of ordinary inserts.
const (
	SeqEnterprises  Sequence = "enterprises"
	SeqUsers        Sequence = "users"
	SeqApplications Sequence = "applications"
	SeqDocuments    Sequence = "documents"
)

// ReserveIDs takes n fresh values from the identity sequence of a table.
func (db *DB) ReserveIDs(ctx context.Context, seq Sequence, n int) (_ []int64, err error) {
	defer wrap(&err, "ReserveIDs")
	switch seq {
	case SeqEnterprises, SeqUsers, SeqApplications, SeqDocuments:
	default:
		return nil, fmt.Errorf("postgres: no sequence for %q", seq)
	}
	if n <= 0 {
		return nil, nil
	}
	rows, _ := db.Pool.Query(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)`, string(seq), n)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, mapError(err)
}

// TakenNames reports which of the given 信用代码 and usernames already
// exist, so a synthetic run can skip them instead of failing on the
// unique constraints (a second run, or a demo enterprise).
func (db *DB) TakenNames(ctx context.Context, usccs, usernames []string) (_ map[string]bool, err error) {
	defer wrap(&err, "TakenNames")
	rows, _ := db.Pool.Query(ctx, `
		SELECT uscc FROM enterprises WHERE uscc = ANY($1)
		UNION ALL
		SELECT username FROM users WHERE username = ANY($2)`, usccs, usernames)
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapError(err)
	}
	out := make(map[string]bool, len(found))
	for _, s := range found {
		out[s] = true
	}
	return out, nil
}

// InsertSyntheticProgrammes inserts validated programmes without audit
// rows and returns them with their ids.
func (db *DB) InsertSyntheticProgrammes(ctx context.Context, ps []applications.Programme) (_ []applications.Programme, err error) {
	defer wrap(&err, "InsertSyntheticProgrammes")
	var out []applications.Programme
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		for _, p := range ps {
			if err := p.Validate(); err != nil {
				return err
			}
			rows, _ := tx.Query(ctx, `
				INSERT INTO programmes (name, year, status, opens_on, closes_on, total_budget, project_cap,
					cap_override_allowed, sectors, required_materials, credit_report_max_age_days, panel_size, criteria,
					pass_score, aggregation, notice_working_days, terms_template, holding_platform, requires_special_audit, holding_platform_uscc, created_at, updated_at)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,NULLIF($20, ''),$21,$21)
				RETURNING `+programmeColumns, append(programmeArgs(p), now)...)
			saved, err := pgx.CollectExactlyOneRow(rows, scanProgramme)
			if err != nil {
				return err
			}
			out = append(out, saved)
		}
		return nil
	})
	return out, err
}

// SyntheticUser is a user row written by the bulk loader. EnterpriseID is
// 0 for staff.
type SyntheticUser struct {
	ID           int64
	Username     string
	DisplayName  string
	Role         applications.Role
	PasswordHash string
	EnterpriseID int64
	CreatedAt    time.Time
}

// SyntheticEnterprise is an enterprise row with its id already reserved.
type SyntheticEnterprise struct {
	ID        int64
	Profile   applications.EnterpriseProfile
	CreatedAt time.Time
}

// InsertSyntheticEnterprises writes enterprises and users (each with its
// id reserved) in one transaction with COPY.
func (db *DB) InsertSyntheticEnterprises(ctx context.Context, es []SyntheticEnterprise, us []SyntheticUser) (err error) {
	defer wrap(&err, "InsertSyntheticEnterprises")
	return db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"enterprises"},
			[]string{"id", "name", "uscc", "legal_rep", "registered_capital", "founded_on", "address",
				"contact_name", "contact_mobile", "created_at"},
			pgx.CopyFromSlice(len(es), func(i int) ([]any, error) {
				e := es[i]
				return []any{e.ID, e.Profile.Name, e.Profile.USCC, e.Profile.LegalRep,
					e.Profile.RegisteredCapital.StringFixed(2), e.Profile.FoundedOn, e.Profile.Address,
					e.Profile.ContactName, e.Profile.ContactMobile, e.CreatedAt}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy enterprises: %w", err)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"users"},
			[]string{"id", "username", "display_name", "role", "password_hash", "enterprise_id",
				"password_changed_at", "created_at", "updated_at"},
			pgx.CopyFromSlice(len(us), func(i int) ([]any, error) {
				u := us[i]
				var ent *int64
				if u.EnterpriseID != 0 {
					ent = &u.EnterpriseID
				}
				return []any{u.ID, u.Username, u.DisplayName, string(u.Role), u.PasswordHash, ent,
					u.CreatedAt, u.CreatedAt, u.CreatedAt}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy users: %w", err)
		}
		return nil
	})
}

// SyntheticTransition is one row of an application's timeline.
type SyntheticTransition struct {
	From, To  applications.State
	ActorID   int64
	ActorName string
	ActorRole applications.Role
	Reason    string
	At        time.Time
}

// SyntheticReview is staff's verdict on one document version.
type SyntheticReview struct {
	Item       applications.Material
	DocumentID int64
	Accepted   bool
	Reason     string
	ReviewerID int64
	At         time.Time
}

// SyntheticApplication is an application with its whole history: the
// application row (ID reserved; State, StateChangedAt, SubmittedAt,
// LiaisonID and PrecheckAsked as the history left them), its timeline,
// its document versions (IDs reserved, blobs already stored) and the
// current verdicts.
type SyntheticApplication struct {
	App         applications.Application
	CreatedBy   int64
	Transitions []SyntheticTransition
	Documents   []applications.Document
	Reviews     []SyntheticReview
}

// InsertSyntheticApplications writes a batch of applications with their
// transitions, documents and verdicts in one transaction with COPY, so a
// batch is there entirely or not at all. The caller has stored every
// document's blob first, as for an upload.
func (db *DB) InsertSyntheticApplications(ctx context.Context, as []SyntheticApplication) (err error) {
	defer wrap(&err, "InsertSyntheticApplications")
	type tr struct {
		app int64
		t   SyntheticTransition
	}
	type rv struct {
		app int64
		r   SyntheticReview
	}
	var trs []tr
	var docs []applications.Document
	var rvs []rv
	contents := make([][]byte, len(as))
	for i, a := range as {
		b, err := json.Marshal(a.App.Content)
		if err != nil {
			return err
		}
		contents[i] = b
		for _, t := range a.Transitions {
			trs = append(trs, tr{a.App.ID, t})
		}
		docs = append(docs, a.Documents...)
		for _, r := range a.Reviews {
			rvs = append(rvs, rv{a.App.ID, r})
		}
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"applications"},
			[]string{"id", "programme_id", "enterprise_id", "title", "sector", "requested_amount", "content",
				"lead_name", "lead_mobile", "state", "liaison_id", "precheck_asked_at", "version",
				"state_changed_at", "submitted_at", "created_by", "created_at", "updated_at"},
			pgx.CopyFromSlice(len(as), func(i int) ([]any, error) {
				a := as[i].App
				return []any{a.ID, a.ProgrammeID, a.EnterpriseID, a.Title, string(a.Sector),
					a.RequestedAmount.StringFixed(2), contents[i], a.LeadName, a.LeadMobile, string(a.State),
					nullID(a.LiaisonID), nullTime(a.PrecheckAsked), a.Version, a.StateChangedAt,
					nullTime(a.SubmittedAt), as[i].CreatedBy, a.CreatedAt, a.UpdatedAt}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy applications: %w", err)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"application_transitions"},
			[]string{"application_id", "from_state", "to_state", "actor_id", "actor_name", "actor_role", "reason", "at"},
			pgx.CopyFromSlice(len(trs), func(i int) ([]any, error) {
				t := trs[i]
				return []any{t.app, string(t.t.From), string(t.t.To), nullID(t.t.ActorID), t.t.ActorName,
					string(t.t.ActorRole), t.t.Reason, t.t.At}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy transitions: %w", err)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"documents"},
			[]string{"id", "application_id", "item", "version", "blob_key", "filename", "content_kind", "size_bytes",
				"sha256", "encrypted", "enc_alg", "wrapped_key", "uscc", "id_masked", "id_cipher", "issue_date",
				"uploaded_by", "uploaded_at"},
			pgx.CopyFromSlice(len(docs), func(i int) ([]any, error) {
				d := docs[i]
				return []any{d.ID, d.ApplicationID, string(d.Item), d.Version, d.BlobKey, d.Filename, d.Kind, d.Size,
					d.SHA256, d.Encrypted, d.EncAlg, d.WrappedKey, d.USCC, d.IDMasked, d.IDCipher,
					nullTime(d.IssueDate), d.UploadedBy, d.UploadedAt}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy documents: %w", err)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"material_reviews"},
			[]string{"application_id", "item", "document_id", "status", "reason", "reviewer_id", "at"},
			pgx.CopyFromSlice(len(rvs), func(i int) ([]any, error) {
				r := rvs[i]
				status := "returned"
				if r.r.Accepted {
					status = "accepted"
				}
				return []any{r.app, string(r.r.Item), r.r.DocumentID, status, r.r.Reason, r.r.ReviewerID, r.r.At}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy material reviews: %w", err)
		}
		return nil
	})
}

// VacuumSynthetic vacuums and analyzes the tables a bulk load filled, as
// one does after any bulk load: the planner gets statistics for the new
// rows instead of plans for empty tables, and the first queries do not pay
// for setting hint bits and building the visibility map (nor race
// autovacuum doing it).
func (db *DB) VacuumSynthetic(ctx context.Context) (err error) {
	defer wrap(&err, "VacuumSynthetic")
	_, err = db.Pool.Exec(ctx, `VACUUM (ANALYZE) enterprises, users, applications, application_transitions, documents, material_reviews`)
	return err
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
