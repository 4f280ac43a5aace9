package postgres

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/day"
	"ite/internal/ledger"
)

// The journal's CSV export is formatted by the database and copied out with
// COPY … TO STDOUT, the way `psql \copy` does it: the client's CPU went into
// decoding a million rows and formatting them again (2.2–2.9 s of CPU
// against psql's 0.5–0.7 s, docs/PERFORMANCE.md). The bytes are those of
// ledger.CSVWriter fed by ExportJournal (the XLSX path still is), which
// TestJournalCSVCopyMatchesEncoder checks on tricky memos.
//
// Each row is one CSV line built in SQL (journalCSVLine), copied as a
// single column in CSV mode with control characters as quote (\x01) and
// delimiter (\x02): PostgreSQL then leaves a line as it is unless it holds
// CR, LF, \x01 or \x02 (a memo with a line break), when it wraps the line
// in \x01 and doubles the \x01 inside; copyLines undoes that. COPY ends a
// row in LF, the export in CRLF, and the protocol sends one row per
// CopyData message, so copyLines sees one line per Write.
const (
	copyQuote     = '\x01'
	copyDelimiter = '\x02'
)

// csvTextSQL is the SQL of ledger.CSVText applied to the text expression x:
// an apostrophe before a cell a spreadsheet would run as a formula (unless
// it is a plain number), and RFC 4180 quotes when it holds a comma, a quote
// or a line break or starts with a space. The apostrophe never changes
// whether a cell needs quotes, so the test looks at x itself.
func csvTextSQL(x string) string {
	// ascii() and strpos() rather than regular expressions and left(): a
	// regex widens every string to wide characters first, and this runs
	// twice for each of a million postings. The number test runs only
	// for the rare cell that starts like a formula.
	escaped := `CASE WHEN ascii(` + x + `) IN (61, 43, 45, 64, 9, 13, 10) THEN CASE WHEN ` + x +
		` ~ '^[+-]?[0-9]+(\.[0-9]+)?$' THEN ` + x + ` ELSE '''' || ` + x + ` END ELSE ` + x + ` END`
	return `CASE WHEN strpos(` + x + `, ',') > 0 OR strpos(` + x + `, '"') > 0 OR strpos(` + x + `, E'\n') > 0
		OR strpos(` + x + `, E'\r') > 0 OR ascii(` + x + `) = 32
		THEN '"' || replace(` + escaped + `, '"', '""') || '"' ELSE ` + escaped + ` END`
}

// sqlString is s as an SQL string literal; only used for the fixed labels
// of the chart and the entry kinds, never for user input.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// journalCSVLine is the SQL of one ledger.JournalTable CSV line (without its
// line end) for entry e and posting p, as ledger.AppendJournalRow and
// CSVWriter write it. Dates and times rely on DateStyle ISO (set by
// CopyJournalCSV); amounts are numeric(18,2), so their text has the two
// decimals the encoder prints. Account codes, scopes and hashes are held to
// digits, "app"/"prog" and hex by the tables' CHECKs and need no escaping;
// memos and record types are free text.
func journalCSVLine() string {
	var kinds, names strings.Builder
	for _, k := range []ledger.Kind{ledger.KindAppropriation, ledger.KindDisbursement, ledger.KindConversion,
		ledger.KindExit, ledger.KindLapseGrant, ledger.KindRecovery, ledger.KindRecoveryReceipt,
		ledger.KindWriteOff, ledger.KindReversal} {
		fmt.Fprintf(&kinds, " WHEN %s THEN %s", sqlString(string(k)), sqlString(ledger.CSVText(k.Label())))
	}
	for _, a := range ledger.Chart() {
		fmt.Fprintf(&names, " WHEN %s THEN %s", sqlString(string(a.Code)), sqlString(ledger.CSVText(a.Name)))
	}
	zone := sqlString(day.Zone.String())
	if _, err := time.LoadLocation(day.Zone.String()); err != nil {
		// The fixed +08:00 zone of a machine without tzdata.
		_, off := time.Now().In(day.Zone).Zone()
		zone = "INTERVAL '" + strconv.Itoa(off) + " seconds'"
	}
	cols := []string{
		`e.seq::text`,
		`e.value_date::text`,
		`CASE e.kind` + kinds.String() + ` ELSE ` + csvTextSQL(`e.kind`) + ` END`,
		csvTextSQL(`e.memo`),
		`p.account_code`,
		`CASE p.account_code` + names.String() + ` ELSE '' END`,
		`p.account_code || '/' || p.scope || '/' || p.scope_id::text`,
		`CASE WHEN p.side = 'debit' THEN p.amount::text ELSE '' END`,
		`CASE WHEN p.side = 'debit' THEN '' ELSE p.amount::text END`,
		csvTextSQL(`e.record_type || '#' || e.record_id::text`),
		`e.maker_id::text`,
		`e.checker_id::text`,
		`COALESCE(e.reverses::text, '')`,
		`date_trunc('second', e.created_at AT TIME ZONE ` + zone + `)::text`,
		`e.hash`,
	}
	if len(cols) != len(ledger.JournalTable.Columns) {
		panic("journalCSVLine: the columns do not match ledger.JournalTable")
	}
	return strings.Join(cols, " || ',' || ")
}

var journalCSVSQL = journalCSVLine()

// CopyJournalCSV writes the journal selected by f (AfterSeq and Limit are
// ignored) to w as the CSV file of ledger.JournalTable: header, one line
// per posting in sequence and line order, and the footer with the chain
// head of the same snapshot. Nothing reaches w before the first 64 KiB or
// the end, so a caller can still answer with an error page when the query
// fails at once; a failure later leaves the file without its footer.
// Errors: Invalid (a bad filter).
func (db *DB) CopyJournalCSV(ctx context.Context, f JournalFilter, w io.Writer) (_ ledger.ChainHead, rows int64, err error) {
	defer wrap(&err, "CopyJournalCSV")
	f.AfterSeq = 0
	var head ledger.ChainHead
	var args ledgerArgs
	where, err := f.where(&args)
	if err != nil {
		return head, 0, err
	}
	// COPY takes no bind parameters: the filter's values go into
	// transaction-local settings, and the query reads them back with their
	// types, so no value is ever spliced into the SQL.
	settings := make([]string, 0, len(args)+1)
	values := make([]any, 0, len(args))
	for i := len(args); i >= 1; i-- {
		var v, typ string
		switch a := args[i-1].(type) {
		case time.Time:
			v, typ = a.Format(time.DateOnly), "date"
		case int64:
			v, typ = strconv.FormatInt(a, 10), "bigint"
		case string:
			v, typ = a, "text"
		default:
			return head, 0, fmt.Errorf("filter value %T", a)
		}
		name := "ite.copy_arg" + strconv.Itoa(i)
		where = strings.ReplaceAll(where, "$"+strconv.Itoa(i), "current_setting('"+name+"')::"+typ)
		values = append(values, v)
		settings = append(settings, "set_config('"+name+"', $"+strconv.Itoa(len(values))+", true)")
	}
	settings = append(settings, "set_config('datestyle', 'ISO, YMD', true)")
	out := &copyLines{bw: bufio.NewWriterSize(w, 64<<10)}
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		if head, err = ledgerHead(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT "+strings.Join(settings, ", "), values...); err != nil {
			return err
		}
		tag, err := tx.Conn().PgConn().CopyTo(ctx, out, `COPY (SELECT `+journalCSVSQL+`
			FROM ledger_entries e JOIN ledger_postings p ON p.entry_seq = e.seq`+where+` ORDER BY e.seq, p.line)
			TO STDOUT WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')`)
		if err != nil {
			return err
		}
		rows = tag.RowsAffected()
		return nil
	})
	if err != nil {
		return head, rows, err
	}
	if err := out.header(); err != nil {
		return head, rows, err
	}
	if _, err := out.bw.WriteString(ledger.CSVFooter(head)); err != nil {
		return head, rows, err
	}
	return head, rows, out.bw.Flush()
}

var errCopyLine = errors.New("COPY: a row that is not one line")

// copyLines turns COPY's rows into the export's lines (see copyQuote).
type copyLines struct {
	bw      *bufio.Writer
	started bool
}

func (c *copyLines) header() error {
	if c.started {
		return nil
	}
	c.started = true
	_, err := c.bw.Write(ledger.AppendCSVHeader(nil, ledger.JournalTable))
	return err
}

func (c *copyLines) Write(p []byte) (int, error) {
	n := len(p)
	if n < 2 || p[n-1] != '\n' {
		return 0, errCopyLine
	}
	line := p[:n-1]
	if line[0] == copyQuote {
		if len(line) < 2 || line[len(line)-1] != copyQuote {
			return 0, errCopyLine
		}
		line = bytes.ReplaceAll(line[1:len(line)-1], []byte{copyQuote, copyQuote}, []byte{copyQuote})
	}
	if err := c.header(); err != nil {
		return 0, err
	}
	if _, err := c.bw.Write(line); err != nil {
		return 0, err
	}
	if _, err := c.bw.WriteString("\r\n"); err != nil {
		return 0, err
	}
	return n, nil
}
