package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
)

const docColumns = `d.id, d.application_id, d.item, d.version, d.blob_key, d.filename, d.content_kind, d.size_bytes,
	d.sha256, d.encrypted, d.enc_alg, d.wrapped_key, d.uscc, d.id_masked, d.id_cipher, d.issue_date,
	d.uploaded_by, u.display_name, d.uploaded_at`

const docFrom = ` FROM documents d JOIN users u ON u.id = d.uploaded_by `

func scanDocument(row pgx.CollectableRow) (applications.Document, error) {
	var d applications.Document
	var item string
	var issue *time.Time
	err := row.Scan(&d.ID, &d.ApplicationID, &item, &d.Version, &d.BlobKey, &d.Filename, &d.Kind, &d.Size,
		&d.SHA256, &d.Encrypted, &d.EncAlg, &d.WrappedKey, &d.USCC, &d.IDMasked, &d.IDCipher, &issue,
		&d.UploadedBy, &d.UploadedByName, &d.UploadedAt)
	d.Item = applications.Material(item)
	if issue != nil {
		d.IssueDate = *issue
	}
	return d, err
}

// AddDocument records a new version of a material whose blob is already
// stored and synced. The application must be a draft or returned; the
// version number is assigned under the application's row lock. Errors:
// NotFound, Conflict.
func (db *DB) AddDocument(ctx context.Context, actor audit.Actor, d applications.Document) (_ applications.Document, err error) {
	defer wrap(&err, "AddDocument application %d", d.ApplicationID)
	var out applications.Document
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := findApplication(ctx, tx, d.ApplicationID, true)
		if err != nil {
			return err
		}
		if a.State != applications.StateDraft && a.State != applications.StateReturned {
			return applications.Errorf(applications.Conflict, "申报当前状态为「%s」，不能上传或替换材料。", a.State.Label())
		}
		out, err = insertDocument(ctx, tx, now, actor, d)
		return err
	})
	return out, err
}

// insertDocument records a document version inside the caller's
// transaction, assigning the next version number of its item.
func insertDocument(ctx context.Context, tx pgx.Tx, now time.Time, actor audit.Actor, d applications.Document) (applications.Document, error) {
	var issue *time.Time
	if !d.IssueDate.IsZero() {
		issue = &d.IssueDate
	}
	var id int64
	if err := tx.QueryRow(ctx, `
		INSERT INTO documents (application_id, item, version, blob_key, filename, content_kind, size_bytes, sha256,
			encrypted, enc_alg, wrapped_key, uscc, id_masked, id_cipher, issue_date, uploaded_by, uploaded_at)
		VALUES ($1, $2, (SELECT COALESCE(max(version), 0) + 1 FROM documents WHERE application_id = $1 AND item = $2),
			$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
		d.ApplicationID, string(d.Item), d.BlobKey, d.Filename, d.Kind, d.Size, d.SHA256, d.Encrypted, d.EncAlg,
		d.WrappedKey, d.USCC, d.IDMasked, d.IDCipher, issue, actor.ID, now).Scan(&id); err != nil {
		return applications.Document{}, err
	}
	rows, _ := tx.Query(ctx, `SELECT `+docColumns+docFrom+`WHERE d.id = $1`, id)
	out, err := pgx.CollectExactlyOneRow(rows, scanDocument)
	if err != nil {
		return out, err
	}
	return out, appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "document_upload", ObjectType: "document",
		ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success,
		Detail: map[string]any{"application_id": d.ApplicationID, "item": d.Item, "version": out.Version,
			"size": d.Size, "sha256": d.SHA256, "kind": d.Kind, "encrypted": d.Encrypted, "id_masked": d.IDMasked}})
}

// ListDocuments returns every version of every item of an application.
func (db *DB) ListDocuments(ctx context.Context, appID int64) (_ []applications.Document, err error) {
	defer wrap(&err, "ListDocuments %d", appID)
	rows, _ := db.Pool.Query(ctx, documentsSQL, appID)
	ds, err := pgx.CollectRows(rows, scanDocument)
	return ds, mapError(err)
}

var documentsSQL = `SELECT ` + docColumns + docFrom + `WHERE d.application_id = $1 ORDER BY d.item, d.version`

// FindDocument returns one document version. Errors: NotFound.
func (db *DB) FindDocument(ctx context.Context, id int64) (_ applications.Document, err error) {
	defer wrap(&err, "FindDocument %d", id)
	rows, _ := db.Pool.Query(ctx, `SELECT `+docColumns+docFrom+`WHERE d.id = $1`, id)
	d, err := pgx.CollectExactlyOneRow(rows, scanDocument)
	return d, mapError(err)
}

const reviewsSQL = `SELECT r.item, r.document_id, r.status = 'accepted', r.reason, u.display_name, r.at
	FROM material_reviews r JOIN users u ON u.id = r.reviewer_id WHERE r.application_id = $1`

func scanReview(row pgx.CollectableRow) (applications.Review, error) {
	var r applications.Review
	var item string
	err := row.Scan(&item, &r.DocumentID, &r.Accepted, &r.Reason, &r.Reviewer, &r.At)
	r.Item = applications.Material(item)
	return r, err
}

// Checklist loads an application's documents and verdicts and derives the
// checklist of its programme p (the caller has it: pages need it anyway).
func (db *DB) Checklist(ctx context.Context, a applications.Application, p applications.Programme) (_ []applications.ChecklistItem, err error) {
	defer wrap(&err, "Checklist %d", a.ID)
	items, err := readChecklist(ctx, db.Pool, a, p)
	return items, mapError(err)
}

// checklistTx is Checklist inside a transaction (for transition checks).
func checklistTx(ctx context.Context, tx pgx.Tx, a applications.Application) ([]applications.ChecklistItem, error) {
	p, err := findProgramme(ctx, tx, a.ProgrammeID, false)
	if err != nil {
		return nil, err
	}
	return readChecklist(ctx, tx, a, p)
}

// readChecklist reads the documents and the verdicts in one round trip,
// as the application page's activity batch does.
func readChecklist(ctx context.Context, q interface {
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}, a applications.Application, p applications.Programme) ([]applications.ChecklistItem, error) {
	var docs []applications.Document
	var revs []applications.Review
	b := &pgx.Batch{}
	queueRows(b, documentsSQL, a.ID, scanDocument, &docs)
	queueRows(b, reviewsSQL, a.ID, scanReview, &revs)
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return applications.BuildChecklist(p, docs, revs), nil
}

// SubmitCheck refuses submission until the checklist is complete and the
// enterprise is verified (verifiedCheck).
func SubmitCheck(ctx context.Context, tx pgx.Tx, a applications.Application) error {
	if err := verifiedCheck(ctx, tx, a); err != nil {
		return err
	}
	items, err := checklistTx(ctx, tx, a)
	if err != nil {
		return err
	}
	return applications.CheckSubmittable(items)
}

// ReviewOutcomeCheck refuses to end formal review unless every item is
// judged and the outcome matches the verdicts.
func ReviewOutcomeCheck(accept bool) TransitionCheck {
	return func(ctx context.Context, tx pgx.Tx, a applications.Application) error {
		items, err := checklistTx(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := applications.CheckReviewOutcome(items, accept); err != nil || !accept {
			return err
		}
		return zoneCheck(ctx, tx, a)
	}
}

// ReviewMaterial records staff's verdict on the current version of an
// item during formal review. Errors: NotFound, Conflict (not submitted,
// or nothing uploaded), Invalid (a return without a reason).
func (db *DB) ReviewMaterial(ctx context.Context, actor audit.Actor, appID int64, item applications.Material, accept bool, reason string) (err error) {
	defer wrap(&err, "ReviewMaterial %d", appID)
	if !accept && reason == "" {
		return applications.FieldError("reason", "退回时请写明原因，企业会在该材料旁看到。")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		if _, err := lockInFormalReview(ctx, tx, appID); err != nil {
			return err
		}
		var docID int64
		err = tx.QueryRow(ctx, `SELECT id FROM documents WHERE application_id = $1 AND item = $2 ORDER BY version DESC LIMIT 1`,
			appID, string(item)).Scan(&docID)
		if errors.Is(err, pgx.ErrNoRows) {
			return applications.Errorf(applications.Conflict, "「%s」尚未上传，无法审查。", item.Label())
		}
		if err != nil {
			return err
		}
		status := "returned"
		if accept {
			status, reason = "accepted", ""
		}
		if err := putVerdict(ctx, tx, now, actor, appID, item, docID, status, reason); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "material_review", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success,
			Detail: map[string]any{"item": item, "document_id": docID, "status": status, "reason": reason}})
	})
}

// lockInFormalReview locks an application whose materials staff judge.
// Errors: NotFound, Conflict (not submitted).
func lockInFormalReview(ctx context.Context, tx pgx.Tx, appID int64) (applications.Application, error) {
	a, err := findApplication(ctx, tx, appID, true)
	if err != nil {
		return a, err
	}
	if a.State != applications.StateSubmitted {
		return a, applications.Errorf(applications.Conflict, "只有「待形式审查」的申报可以逐项审查材料（当前为「%s」）。", a.State.Label())
	}
	return a, nil
}

// putVerdict records (or replaces) staff's verdict on an item's version.
func putVerdict(ctx context.Context, tx pgx.Tx, now time.Time, actor audit.Actor, appID int64, item applications.Material, docID int64, status, reason string) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO material_reviews (application_id, item, document_id, status, reason, reviewer_id, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (application_id, item) DO UPDATE SET document_id = EXCLUDED.document_id,
			status = EXCLUDED.status, reason = EXCLUDED.reason, reviewer_id = EXCLUDED.reviewer_id, at = EXCLUDED.at`,
		appID, string(item), docID, status, reason, actor.ID, now)
	return err
}

// AcceptRemainingMaterials accepts, in one step, every item whose current
// version staff have not judged yet (items already returned or accepted
// keep their verdict), with one audit row naming them. It returns the
// items accepted. Errors: NotFound, Conflict (not submitted).
func (db *DB) AcceptRemainingMaterials(ctx context.Context, actor audit.Actor, appID int64) (_ []applications.Material, err error) {
	defer wrap(&err, "AcceptRemainingMaterials %d", appID)
	var accepted []applications.Material
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := lockInFormalReview(ctx, tx, appID)
		if err != nil {
			return err
		}
		items, err := checklistTx(ctx, tx, a)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.Current == nil || it.Status != applications.MaterialUploaded {
				continue
			}
			if err := putVerdict(ctx, tx, now, actor, appID, it.Material, it.Current.ID, "accepted", ""); err != nil {
				return err
			}
			accepted = append(accepted, it.Material)
		}
		if len(accepted) == 0 {
			return nil
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "material_review_all", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success,
			Detail: map[string]any{"items": accepted, "status": "accepted"}})
	})
	return accepted, err
}

// ReferencedBlobs reports which of keys a document row references, for the
// blob sweeper.
func (db *DB) ReferencedBlobs(ctx context.Context, keys []string) (_ map[string]bool, err error) {
	defer wrap(&err, "ReferencedBlobs")
	rows, _ := db.Pool.Query(ctx, `SELECT blob_key FROM documents WHERE blob_key = ANY($1)`, keys)
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(found))
	for _, k := range found {
		out[k] = true
	}
	return out, nil
}

// insertEvidence records an evidence file as a document of the project;
// nil evidence is none (NULL).
func insertEvidence(ctx context.Context, tx pgx.Tx, now time.Time, actor audit.Actor, appID int64, d *applications.Document) (*int64, error) {
	if d == nil {
		return nil, nil
	}
	d.ApplicationID, d.Item = appID, applications.MaterialEvidence
	doc, err := insertDocument(ctx, tx, now, actor, *d)
	if err != nil {
		return nil, err
	}
	return &doc.ID, nil
}
