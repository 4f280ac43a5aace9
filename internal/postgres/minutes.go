package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

// Records that may carry committee minutes (DOMAIN §8): a cap override
// decision, an exit at a loss and a write-off beyond the loss tolerance.
const RecordDecision = "decision"

// minutesTables names each record type's table (fixed names, never input).
var minutesTables = map[string]string{RecordDecision: "decisions", RecordExit: "exits", RecordEnding: "endings"}

// minutesKey keys ListMinutes' map.
func minutesKey(recordType string, id int64) string { return recordType + "/" + itoa64(id) }

// MinutesKey is the key of a record's minutes in ListMinutes' map.
func MinutesKey(recordType string, id int64) string { return minutesKey(recordType, id) }

// AttachMinutes records the committee minutes of a pending decision, exit
// or ending, with the minutes file, for the approver. A record carries one
// set of minutes. Errors: Invalid, NotFound, Conflict (not pending, already
// recorded).
func (db *DB) AttachMinutes(ctx context.Context, actor audit.Actor, recordType string, id int64, m applications.CommitteeMinutes,
	file *applications.Document) (err error) {
	defer wrap(&err, "AttachMinutes %s %d", recordType, id)
	table, ok := minutesTables[recordType]
	if !ok {
		return applications.Errorf(applications.NotFound, "记录不存在。")
	}
	if err := m.Validate(day.Today(db.Now()), file != nil); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var appID int64
		var status string
		err := tx.QueryRow(ctx, `SELECT application_id, status FROM `+table+` WHERE id = $1 FOR UPDATE`, id).Scan(&appID, &status)
		if errors.Is(err, pgx.ErrNoRows) {
			return applications.Errorf(applications.NotFound, "记录不存在。")
		} else if err != nil {
			return err
		}
		if status != "pending" {
			return applications.Errorf(applications.Conflict, "该事项已处理，不能再登记会议纪要。")
		}
		docID, err := insertEvidence(ctx, tx, now, actor, appID, file)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO committee_minutes (record_type, record_id, number, held_on, document_id, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, recordType, id, m.Number, m.HeldOn, *docID, actor.ID, now)
		if err != nil {
			if applications.ErrorKind(mapError(err)) == applications.Conflict {
				return applications.Errorf(applications.Conflict, "该事项已登记会议纪要。")
			}
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "minutes_attach", ObjectType: recordType,
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: map[string]any{"application_id": appID,
				"minutes_number": m.Number, "minutes_date": day.ISO(m.HeldOn), "document_id": *docID}})
	})
}

const minutesSelect = `SELECT m.record_type, m.record_id, m.number, m.held_on, m.document_id, d.filename, u.display_name
	FROM committee_minutes m JOIN documents d ON d.id = m.document_id JOIN users u ON u.id = m.created_by `

func scanMinutes(r pgx.Row) (string, applications.CommitteeMinutes, error) {
	var m applications.CommitteeMinutes
	var typ string
	var id int64
	err := r.Scan(&typ, &id, &m.Number, &m.HeldOn, &m.DocumentID, &m.Filename, &m.RecordedBy)
	return minutesKey(typ, id), m, err
}

// minutesOf returns a record's minutes, nil when it has none.
func minutesOf(ctx context.Context, tx pgx.Tx, recordType string, id int64) (*applications.CommitteeMinutes, error) {
	rows, _ := tx.Query(ctx, minutesSelect+`WHERE m.record_type = $1 AND m.record_id = $2`, recordType, id)
	var out *applications.CommitteeMinutes
	err := forEachRow(rows, func(r pgx.Row) error {
		_, m, err := scanMinutes(r)
		out = &m
		return err
	})
	return out, err
}

// ListMinutes returns the minutes of an application's decisions, exits and
// endings, keyed by MinutesKey.
func (db *DB) ListMinutes(ctx context.Context, appID int64) (_ map[string]applications.CommitteeMinutes, err error) {
	defer wrap(&err, "ListMinutes %d", appID)
	rows, _ := db.Pool.Query(ctx, applicationMinutesSQL, appID)
	out, err := collectMinutes(rows)
	return out, mapError(err)
}

// applicationMinutesSQL reads the minutes of an application's decisions,
// exits and endings.
var applicationMinutesSQL = func() string {
	var parts []string
	for _, typ := range []string{RecordDecision, RecordExit, RecordEnding} { // one SQL text
		parts = append(parts, `(m.record_type = '`+typ+`' AND m.record_id IN (SELECT id FROM `+minutesTables[typ]+` WHERE application_id = $1))`)
	}
	return minutesSelect + `WHERE ` + strings.Join(parts, " OR ")
}()

// collectMinutes reads minutesSelect's rows, keyed by MinutesKey.
func collectMinutes(rows pgx.Rows) (map[string]applications.CommitteeMinutes, error) {
	out := map[string]applications.CommitteeMinutes{}
	err := forEachRow(rows, func(r pgx.Row) error {
		k, m, err := scanMinutes(r)
		out[k] = m
		return err
	})
	return out, err
}
