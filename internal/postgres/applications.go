package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

const appColumns = `a.id, a.programme_id, p.name, a.enterprise_id, e.name, e.uscc, a.title, a.sector,
	a.requested_amount, a.content, a.lead_name, a.lead_mobile, a.state, COALESCE(a.liaison_id, 0),
	COALESCE(l.display_name, ''), a.precheck_asked_at, a.version, a.state_changed_at, a.submitted_at,
	a.created_at, a.updated_at, a.approved_amount, a.notice_starts_on, a.notice_ends_on, a.notice_closed_at`

// appListColumns are what the lists of applications show (the queue, an
// enterprise's own list): no content body, no contact, no notice dates.
// Fewer columns are less for PostgreSQL to send and for the server to
// decode, fifty rows a queue page (docs/PERFORMANCE.md, session 6).
const appListColumns = `a.id, a.programme_id, p.name, a.enterprise_id, e.name, e.uscc, a.title, a.sector,
	a.requested_amount, a.state, COALESCE(a.liaison_id, 0), COALESCE(l.display_name, ''), a.state_changed_at`

// scanListedApplication reads appListColumns: the fields a list shows,
// nothing else set.
func scanListedApplication(row pgx.CollectableRow) (applications.Application, error) {
	var a applications.Application
	var sector, state string
	err := row.Scan(&a.ID, &a.ProgrammeID, &a.Programme, &a.EnterpriseID, &a.Enterprise, &a.EnterpriseUSCC,
		&a.Title, &sector, numericInto{&a.RequestedAmount}, &state, &a.LiaisonID, &a.Liaison, &a.StateChangedAt)
	a.Sector, a.State = applications.Sector(sector), applications.State(state)
	return a, err
}

const appFrom = ` FROM applications a JOIN programmes p ON p.id = a.programme_id
	JOIN enterprises e ON e.id = a.enterprise_id LEFT JOIN users l ON l.id = a.liaison_id `

func scanApplication(row pgx.CollectableRow) (applications.Application, error) {
	var a applications.Application
	var sector, state string
	var content []byte
	// The nullable times scan into pgtype values, not *time.Time (which
	// allocates one time a column a row), and the amounts from pgx's binary
	// numeric (numericInto), not through decimal's text Scanner.
	var precheck, submitted, noticeStart, noticeEnd, noticeClosed pgtype.Timestamptz
	err := row.Scan(&a.ID, &a.ProgrammeID, &a.Programme, &a.EnterpriseID, &a.Enterprise, &a.EnterpriseUSCC,
		&a.Title, &sector, numericInto{&a.RequestedAmount}, &content, &a.LeadName, &a.LeadMobile, &state, &a.LiaisonID,
		&a.Liaison, &precheck, &a.Version, &a.StateChangedAt, &submitted, &a.CreatedAt, &a.UpdatedAt,
		nullDecimalInto{&a.ApprovedAmount}, &noticeStart, &noticeEnd, &noticeClosed)
	if err != nil {
		return a, err
	}
	a.Sector, a.State = applications.Sector(sector), applications.State(state)
	a.PrecheckAsked, a.SubmittedAt = precheck.Time, submitted.Time
	a.NoticeStartsOn, a.NoticeEndsOn, a.NoticeClosedAt = noticeStart.Time, noticeEnd.Time, noticeClosed.Time
	return a, json.Unmarshal(content, &a.Content)
}

func findApplication(ctx context.Context, q pgx.Tx, id int64, lock bool) (applications.Application, error) {
	sql := `SELECT ` + appColumns + appFrom + `WHERE a.id = $1`
	if lock {
		sql += ` FOR UPDATE OF a`
	}
	rows, _ := q.Query(ctx, sql, id)
	return pgx.CollectExactlyOneRow(rows, scanApplication)
}

// FindApplication returns one application. Callers check who may see it.
// Errors: NotFound.
func (db *DB) FindApplication(ctx context.Context, id int64) (_ applications.Application, err error) {
	defer wrap(&err, "FindApplication %d", id)
	rows, _ := db.Pool.Query(ctx, `SELECT `+appColumns+appFrom+`WHERE a.id = $1`, id)
	a, err := pgx.CollectExactlyOneRow(rows, scanApplication)
	return a, mapError(err)
}

func appAudit(a applications.Application) map[string]any {
	return map[string]any{"title": a.Title, "sector": a.Sector, "requested_amount": a.RequestedAmount.StringFixed(2),
		"lead_name": a.LeadName, "state": a.State, "version": a.Version}
}

// CreateApplication creates a draft for an enterprise in an open
// programme. Errors: Invalid, Conflict (programme not open).
func (db *DB) CreateApplication(ctx context.Context, actor audit.Actor, a applications.Application) (_ applications.Application, err error) {
	defer wrap(&err, "CreateApplication programme %d", a.ProgrammeID)
	var out applications.Application
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		p, err := findProgramme(ctx, tx, a.ProgrammeID, false)
		if err != nil {
			return err
		}
		if err := p.AcceptsApplications(day.Today(now)); err != nil {
			return err
		}
		if err := a.ValidateDraft(p); err != nil {
			return err
		}
		content, _ := json.Marshal(a.Content)
		var id int64
		if err := tx.QueryRow(ctx, `
			INSERT INTO applications (programme_id, enterprise_id, title, sector, requested_amount, content,
				lead_name, lead_mobile, state, state_changed_at, created_by, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'draft',$9,$10,$9,$9) RETURNING id`,
			a.ProgrammeID, a.EnterpriseID, a.Title, string(a.Sector), a.RequestedAmount, content,
			a.LeadName, a.LeadMobile, now, actor.ID).Scan(&id); err != nil {
			return err
		}
		if err := recordTransition(ctx, tx, now, actor, id, "", applications.StateDraft, "创建申报草稿"); err != nil {
			return err
		}
		if out, err = findApplication(ctx, tx, id, false); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "application_create", ObjectType: "application",
			ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success, Detail: map[string]any{"after": appAudit(out)}})
	})
	return out, err
}

// UpdateDraft saves an enterprise's edit if the application is still at
// the version the editor loaded (optimistic lock: two tabs cannot
// overwrite each other unseen) and still editable. Errors: Invalid,
// NotFound, Conflict.
func (db *DB) UpdateDraft(ctx context.Context, actor audit.Actor, a applications.Application) (_ applications.Application, err error) {
	defer wrap(&err, "UpdateDraft %d", a.ID)
	var out applications.Application
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		before, err := findApplication(ctx, tx, a.ID, true)
		if err != nil {
			return err
		}
		if before.State != applications.StateDraft && before.State != applications.StateReturned {
			return applications.Errorf(applications.Conflict, "申报当前状态为「%s」，不能修改。", before.State.Label())
		}
		if before.Version != a.Version {
			return applications.Errorf(applications.Conflict,
				"该申报已在其他窗口或由同事保存过（您打开后又有修改）。为避免覆盖，请刷新页面，核对后重新填写并保存。")
		}
		p, err := findProgramme(ctx, tx, before.ProgrammeID, false)
		if err != nil {
			return err
		}
		if err := a.ValidateDraft(p); err != nil {
			return err
		}
		content, _ := json.Marshal(a.Content)
		if _, err := tx.Exec(ctx, `
			UPDATE applications SET title=$2, sector=$3, requested_amount=$4, content=$5, lead_name=$6,
				lead_mobile=$7, version = version + 1, updated_at=$8
			WHERE id = $1`, a.ID, a.Title, string(a.Sector), a.RequestedAmount, content, a.LeadName, a.LeadMobile, now); err != nil {
			return err
		}
		if out, err = findApplication(ctx, tx, a.ID, false); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "application_update", ObjectType: "application",
			ObjectID: strconv.FormatInt(a.ID, 10), Outcome: audit.Success,
			Detail: map[string]any{"before": appAudit(before), "after": appAudit(out)}})
	})
	return out, err
}

func recordTransition(ctx context.Context, tx pgx.Tx, now time.Time, actor audit.Actor, appID int64, from, to applications.State, reason string) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO application_transitions (application_id, from_state, to_state, actor_id, actor_name, actor_role, reason, at)
		VALUES ($1, $2, $3, NULLIF($4, 0), $5, $6, $7, $8)`,
		appID, string(from), string(to), actor.ID, actor.Name, actor.Role, reason, now)
	return err
}

// TransitionCheck is a rule beyond the state table that must hold, read
// inside the transaction that holds the application's row lock.
type TransitionCheck func(ctx context.Context, tx pgx.Tx, a applications.Application) error

// TransitionApplication moves an application to a new state through the
// domain state machine, under a row lock so two people acting at once
// cannot both win, recording the transition and an audit row.
// Errors: NotFound, Conflict (not allowed from the current state, or a
// check failed).
func (db *DB) TransitionApplication(ctx context.Context, actor audit.Actor, id int64, to applications.State, reason string, check TransitionCheck) (_ applications.Application, err error) {
	defer wrap(&err, "TransitionApplication %d", id)
	var out applications.Application
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		now := db.Now()
		if out, err = transitionTx(ctx, tx, now, actor, id, to, reason, check); err != nil {
			return err
		}
		return notifyTransition(ctx, tx, now, out, reason)
	})
	return out, err
}

// notifyTransition tells whoever must act after a state change made
// through TransitionApplication (the moves of submission and formal
// review; the other moves notify from their own store methods): a
// submission or resubmission the liaison, a return or a rejection the
// enterprise.
func notifyTransition(ctx context.Context, tx pgx.Tx, now time.Time, a applications.Application, reason string) error {
	switch a.State {
	case applications.StateSubmitted:
		return notifyLiaison(ctx, tx, now, NotifySubmitted, a.ID, "“"+a.Enterprise+"”提交了申报“"+a.Title+"”，请进行形式审查。", "")
	case applications.StateReturned:
		return notifyEnterprise(ctx, tx, now, NotifyReturned, a.ID, "申报“"+a.Title+"”的材料被退回补正，请按每项退回原因修改后重新提交。", "/applications/"+itoa64(a.ID)+"#checklist")
	case applications.StateRejected:
		return notifyEnterprise(ctx, tx, now, NotifyOutcome, a.ID, "申报“"+a.Title+"”不予立项："+reason, "")
	}
	return nil
}

// transitionTx is TransitionApplication inside a transaction the caller
// already holds, so a state change can commit together with the business
// change that causes it (a disbursement's approval moves the application
// to funded in the same transaction as its ledger entry).
func transitionTx(ctx context.Context, tx pgx.Tx, now time.Time, actor audit.Actor, id int64, to applications.State, reason string, check TransitionCheck) (applications.Application, error) {
	a, err := findApplication(ctx, tx, id, true)
	if err != nil {
		return a, err
	}
	if err := applications.Transition(a.State, to); err != nil {
		return a, err
	}
	if check != nil {
		if err := check(ctx, tx, a); err != nil {
			return a, err
		}
	}
	return moveState(ctx, tx, now, actor, a, to, reason)
}

// moveState writes a state change of a (locked by the caller) with its
// timeline row and audit row; the caller has decided the move is allowed.
func moveState(ctx context.Context, tx pgx.Tx, now time.Time, actor audit.Actor, a applications.Application, to applications.State, reason string) (applications.Application, error) {
	id := a.ID
	if _, err := tx.Exec(ctx, `
		UPDATE applications SET state = $2, state_changed_at = $3, version = version + 1, updated_at = $3,
			submitted_at = CASE WHEN $2 = 'submitted' THEN $3 ELSE submitted_at END,
			precheck_asked_at = CASE WHEN $2 = 'submitted' THEN NULL ELSE precheck_asked_at END
		WHERE id = $1`, id, string(to), now); err != nil {
		return a, err
	}
	if err := recordTransition(ctx, tx, now, actor, id, a.State, to, reason); err != nil {
		return a, err
	}
	out, err := findApplication(ctx, tx, id, false)
	if err != nil {
		return out, err
	}
	return out, appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "application_transition", ObjectType: "application",
		ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success,
		Detail: map[string]any{"before": map[string]any{"state": a.State}, "after": map[string]any{"state": to}, "reason": reason}})
}

// Timeline returns the recorded transitions, oldest first.
func (db *DB) Timeline(ctx context.Context, appID int64) (_ []applications.TransitionRecord, err error) {
	defer wrap(&err, "Timeline %d", appID)
	rows, _ := db.Pool.Query(ctx, timelineSQL, appID)
	ts, err := pgx.CollectRows(rows, scanTransition)
	return ts, mapError(err)
}

const timelineSQL = `SELECT from_state, to_state, actor_name, actor_role, reason, at
	FROM application_transitions WHERE application_id = $1 ORDER BY id`

func scanTransition(row pgx.CollectableRow) (applications.TransitionRecord, error) {
	var t applications.TransitionRecord
	var from, to string
	err := row.Scan(&from, &to, &t.ActorName, &t.ActorRole, &t.Reason, &t.At)
	t.From, t.To = applications.State(from), applications.State(to)
	return t, err
}

// QueueFilter selects applications for the staff queue.
type QueueFilter struct {
	ProgrammeID  int64
	State        applications.State
	Sector       applications.Sector
	LiaisonID    int64
	Search       string // company name fragment or 信用代码
	EnterpriseID int64  // enterprise users: only their own
	Platform     string // trustees: only their platform's projects from conversion on (its USCC)
	// Keyset: the (state_changed_at, id) of the last row of the previous page.
	AfterTime time.Time
	AfterID   int64
	Limit     int
}

// ListApplications returns one page of applications, longest waiting
// first (oldest state change), using keyset pagination so page 1000 is as
// fast as page 1.
func (db *DB) ListApplications(ctx context.Context, f QueueFilter) (_ []applications.Application, err error) {
	defer wrap(&err, "ListApplications")
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.ProgrammeID != 0 {
		where = append(where, "a.programme_id = "+arg(f.ProgrammeID))
	}
	if f.State != "" {
		where = append(where, "a.state = "+arg(string(f.State)))
	}
	if f.Sector != "" {
		where = append(where, "a.sector = "+arg(string(f.Sector)))
	}
	if f.LiaisonID != 0 {
		where = append(where, "a.liaison_id = "+arg(f.LiaisonID))
	}
	if f.EnterpriseID != 0 {
		where = append(where, "a.enterprise_id = "+arg(f.EnterpriseID))
	}
	if f.Platform != "" {
		where = append(where, heldByPlatform("a.id", arg(f.Platform)+"::text"))
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		if u := applications.NormalizeUSCC(s); applications.ValidateUSCC(u) == nil {
			where = append(where, "e.uscc = "+arg(u))
		} else {
			where = append(where, "e.name ILIKE "+arg("%"+escapeLike(s)+"%"))
		}
	}
	if f.AfterID != 0 {
		where = append(where, "(a.state_changed_at, a.id) > ("+arg(f.AfterTime)+", "+arg(f.AfterID)+")")
	}
	sql := `SELECT ` + appListColumns + appFrom
	if len(where) > 0 {
		sql += "WHERE " + strings.Join(where, " AND ")
	}
	// The limit is written into the statement, not passed: with LIMIT $n
	// PostgreSQL cannot cost a generic plan for the prepared statement and
	// plans it afresh on every call (1.5 ms of a 2.5 ms queue query over
	// 100,000 applications, docs/PERFORMANCE.md). f.Limit is 1..200.
	sql += " ORDER BY a.state_changed_at, a.id LIMIT " + strconv.Itoa(f.Limit)
	rows, _ := db.Pool.Query(ctx, sql, args...)
	as, err := pgx.AppendRows(make([]applications.Application, 0, f.Limit), rows, scanListedApplication)
	return as, mapError(err)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SetLiaison assigns the liaison officer (专人对接). Errors: NotFound,
// Invalid (not a staff user).
func (db *DB) SetLiaison(ctx context.Context, actor audit.Actor, appID, staffID int64) (err error) {
	defer wrap(&err, "SetLiaison %d, staffID %d", appID, staffID)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var role string
		if err := tx.QueryRow(ctx, `SELECT role FROM users WHERE id = $1 AND NOT disabled`, staffID).Scan(&role); err != nil || role != "staff" {
			return applications.FieldError("liaison_id", "对接人须为在岗的经办人员。")
		}
		var before int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(liaison_id, 0) FROM applications WHERE id = $1 FOR UPDATE`, appID).Scan(&before); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE applications SET liaison_id = $2 WHERE id = $1`, appID, staffID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, db.Now(), audit.Event{Actor: actor, Name: "application_liaison", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success,
			Detail: map[string]any{"before": map[string]any{"liaison_id": before}, "after": map[string]any{"liaison_id": staffID}}})
	})
}

// AskPrecheck records an enterprise's request for a pre-check (预审) of its
// draft. Errors: Conflict (not a draft or returned).
func (db *DB) AskPrecheck(ctx context.Context, actor audit.Actor, appID int64) (err error) {
	defer wrap(&err, "AskPrecheck %d", appID)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		if a.State != applications.StateDraft && a.State != applications.StateReturned {
			return applications.Errorf(applications.Conflict, "只有草稿或退回补正的申报可以申请预审。")
		}
		now := db.Now()
		if _, err := tx.Exec(ctx, `UPDATE applications SET precheck_asked_at = $2 WHERE id = $1`, appID, now); err != nil {
			return err
		}
		if err := notifyLiaison(ctx, tx, now, NotifyPrecheckAsked, appID, "“"+a.Enterprise+"”申请预审申报草稿“"+a.Title+"”，请给出逐项意见。", "/applications/"+itoa64(appID)+"#comments"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "precheck_requested", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success})
	})
}

// AddComment stores a liaison's coaching comment (per item or overall)
// and, for a pre-check, marks it answered.
func (db *DB) AddComment(ctx context.Context, actor audit.Actor, appID int64, item applications.Material, body string) (err error) {
	defer wrap(&err, "AddComment %d", appID)
	body = strings.TrimSpace(body)
	if body == "" {
		return applications.FieldError("body", "请填写意见内容。")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		if _, err := tx.Exec(ctx, `INSERT INTO application_comments (application_id, item, body, author_id, author_name, at)
			VALUES ($1, $2, $3, $4, $5, $6)`, appID, string(item), body, actor.ID, actor.Name, now); err != nil {
			return err
		}
		// The comment answers a pending pre-check request. Only then is the
		// application written: any UPDATE, even of no row, reports a change
		// of applications to the page caches (migration 000008).
		var asked bool
		if err := tx.QueryRow(ctx, `SELECT precheck_asked_at IS NOT NULL FROM applications WHERE id = $1`, appID).Scan(&asked); err != nil {
			return err
		}
		if asked {
			if _, err := tx.Exec(ctx, `UPDATE applications SET precheck_asked_at = NULL WHERE id = $1`, appID); err != nil {
				return err
			}
		}
		what := "辅导意见"
		if asked {
			what = "预审意见"
		}
		if err := notifyEnterprise(ctx, tx, now, NotifyPrecheckComment, appID, "对接人对您的申报给出了"+what+"，请查看。", "/applications/"+itoa64(appID)+"#comments"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "precheck_comment", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success, Detail: map[string]any{"item": item}})
	})
}

// commentsSQL reads an application's coaching comments, oldest first.
const commentsSQL = `SELECT id, item, body, author_name, at FROM application_comments
	WHERE application_id = $1 ORDER BY id`

func scanComment(row pgx.CollectableRow) (applications.Comment, error) {
	var c applications.Comment
	var item string
	err := row.Scan(&c.ID, &item, &c.Body, &c.Author, &c.At)
	c.Item = applications.Material(item)
	return c, err
}

// ApplicationActivity is what the application page shows of an
// application besides its money section: its documents and their verdicts
// (for the checklist), its timeline, its comments, the information staff
// asked for, its eligibility, and its review section's panel, decisions,
// scores, notice objections and committee minutes.
type ApplicationActivity struct {
	Documents    []applications.Document
	Verdicts     []applications.Review // staff's verdicts on the materials
	Timeline     []applications.TransitionRecord
	Comments     []applications.Comment
	InfoRequests []applications.InfoRequest
	Eligibility  Eligibility // on the store's today
	Panel        []Assignment
	Decisions    []Decision
	Scores       []StoredReview // the experts' locked reviews
	Objections   []Objection
	Minutes      map[string]applications.CommitteeMinutes // keyed by MinutesKey
}

// ActivityParts says which of the review section's lists the page shows,
// so a draft's page (most of them) does not ask for them.
type ActivityParts struct {
	Review     bool // the decisions and the locked reviews
	Panel      bool // the experts drawn
	Objections bool // the notice's objections
	Oversight  bool // the committee minutes
}

// ApplicationActivity reads all of it in one round trip: up to eleven
// statements in one pgx.Batch, the ones ListDocuments, Checklist,
// Timeline, FindEligibility, ListAssignments, ListDecisions,
// ListSubmittedReviews, ListObjections and ListMinutes send too (the page sent them one by one, docs/PERFORMANCE.md). The
// caller shows of them what its reader may see.
func (db *DB) ApplicationActivity(ctx context.Context, appID int64, parts ActivityParts) (_ ApplicationActivity, err error) {
	defer wrap(&err, "ApplicationActivity %d", appID)
	var a ApplicationActivity
	today := day.Today(db.Now())
	b := &pgx.Batch{}
	queueRows(b, documentsSQL, appID, scanDocument, &a.Documents)
	queueRows(b, reviewsSQL, appID, scanReview, &a.Verdicts)
	queueRows(b, timelineSQL, appID, scanTransition, &a.Timeline)
	queueRows(b, commentsSQL, appID, scanComment, &a.Comments)
	queueRows(b, infoRequestsSQL, appID, scanInfoRequest, &a.InfoRequests)
	b.Queue(eligibilitySQL, appID).QueryRow(func(row pgx.Row) (err error) {
		a.Eligibility, err = scanEligibility(row, today)
		return err
	})
	if parts.Panel {
		queueRows(b, assignmentsSQL, appID, scanAssignment, &a.Panel)
	}
	if parts.Review {
		queueRows(b, decisionsSQL, appID, scanDecision, &a.Decisions)
		queueRows(b, submittedReviewsSQL, appID, scanStoredReview, &a.Scores)
	}
	if parts.Objections {
		queueRows(b, objectionsSQL, appID, scanObjection, &a.Objections)
	}
	if parts.Oversight {
		b.Queue(applicationMinutesSQL, appID).Query(func(rows pgx.Rows) (err error) {
			a.Minutes, err = collectMinutes(rows)
			return err
		})
	}
	return a, mapError(db.Pool.SendBatch(ctx, b).Close())
}

// queueRows queues sql with arg on b, collecting its rows into dst with
// scan when the batch is read.
func queueRows[T any](b *pgx.Batch, sql string, arg any, scan pgx.RowToFunc[T], dst *[]T) {
	b.Queue(sql, arg).Query(func(rows pgx.Rows) error {
		var err error
		*dst, err = pgx.CollectRows(rows, scan)
		return err
	})
}
