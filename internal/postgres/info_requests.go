package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

// Information staff ask an enterprise for (issue 13): a request with a due
// day, on the enterprise's to-do list and the asker's until it is answered.

const infoRequestColumns = `x.id, x.application_id, x.body, x.due_on, x.asked_by, q.display_name, x.asked_at,
	x.status = 'answered', x.answer, COALESCE(x.answer_doc, 0), COALESCE(d.filename, ''), COALESCE(w.display_name, ''), x.answered_at`

const infoRequestFrom = ` FROM info_requests x JOIN users q ON q.id = x.asked_by
	LEFT JOIN users w ON w.id = x.answered_by LEFT JOIN documents d ON d.id = x.answer_doc `

func scanInfoRequest(row pgx.CollectableRow) (applications.InfoRequest, error) {
	var x applications.InfoRequest
	var answeredAt *time.Time
	err := row.Scan(&x.ID, &x.ApplicationID, &x.Body, &x.Due, &x.AskedBy, &x.AskedByName, &x.AskedAt,
		&x.Answered, &x.Answer, &x.AnswerDocID, &x.AnswerDocName, &x.AnsweredBy, &answeredAt)
	if answeredAt != nil {
		x.AnsweredAt = *answeredAt
	}
	return x, err
}

// infoRequestsSQL reads an application's information requests, oldest
// first.
var infoRequestsSQL = `SELECT ` + infoRequestColumns + infoRequestFrom + `WHERE x.application_id = $1 ORDER BY x.id`

// AskInformation records what staff ask the enterprise to supply by due,
// and notifies the enterprise's users (in-app and email, same
// transaction). Errors: NotFound, Conflict (the project has ended),
// Invalid (body, due_on).
func (db *DB) AskInformation(ctx context.Context, actor audit.Actor, appID int64, body string, due time.Time) (_ int64, err error) {
	defer wrap(&err, "AskInformation %d", appID)
	var id int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		if a.State.Terminal() {
			return applications.Errorf(applications.Conflict, "项目已「%s」，不能再要求企业补充信息。", a.State.Label())
		}
		if err := applications.ValidateInfoRequest(body, due, day.Today(now)); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO info_requests (application_id, body, due_on, asked_by, asked_at)
			VALUES ($1, btrim($2), $3, $4, $5) RETURNING id`, appID, body, day.Date(due), actor.ID, now).Scan(&id); err != nil {
			return err
		}
		if err := notifyEnterprise(ctx, tx, now, NotifyInfoRequested, appID, "项目“"+a.Title+"”：经办人员请您补充信息，请于"+
			day.Chinese(due)+"前在项目页答复。", "/applications/"+itoa64(appID)+"#info"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "info_request", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success,
			Detail: map[string]any{"request_id": id, "due_on": day.ISO(due), "body": body}})
	})
	return id, err
}

// AnswerInformation records the enterprise's answer (text, a file
// recorded as the project's document, or both) and notifies the staff
// member who asked and the liaison. Errors: NotFound (no such request on
// this application), Conflict (already answered), Invalid (answer).
func (db *DB) AnswerInformation(ctx context.Context, actor audit.Actor, appID, reqID int64, answer string, file *applications.Document) (err error) {
	defer wrap(&err, "AnswerInformation %d", reqID)
	if err := applications.ValidateInfoAnswer(answer, file != nil); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		if a.State.Terminal() {
			return applications.Errorf(applications.Conflict, "项目已「%s」，无需再答复。", a.State.Label())
		}
		var status string
		var askedBy int64
		err = tx.QueryRow(ctx, `SELECT status, asked_by FROM info_requests WHERE id = $1 AND application_id = $2 FOR UPDATE`,
			reqID, appID).Scan(&status, &askedBy)
		if err == pgx.ErrNoRows {
			return applications.Errorf(applications.NotFound, "没有这项补充信息要求。")
		} else if err != nil {
			return err
		}
		if status != "open" {
			return applications.Errorf(applications.Conflict, "这项要求已经答复过，不能再次答复；如需补充，请联系对接人。")
		}
		docID, err := insertEvidence(ctx, tx, now, actor, appID, file)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE info_requests SET status = 'answered', answer = btrim($2), answer_doc = $3,
			answered_by = $4, answered_at = $5 WHERE id = $1`, reqID, answer, docID, actor.ID, now); err != nil {
			return err
		}
		// The asker and the liaison (once each), whoever of them is active.
		if _, err := insertNotifications(ctx, tx, `SELECT u.id, $3::text, $4::text, $5::timestamptz, $6::text FROM users u
			WHERE u.id IN ($1, (SELECT liaison_id FROM applications WHERE id = $2)) AND NOT u.disabled`,
			askedBy, appID, "项目“"+a.Title+"”：企业已答复您要求补充的信息，请查看。", "/applications/"+itoa64(appID)+"#info",
			now, string(NotifyInfoAnswered)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "info_answer", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success,
			Detail: map[string]any{"request_id": reqID, "document_id": docID, "answer": answer}})
	})
}
