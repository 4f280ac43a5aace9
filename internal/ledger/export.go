package ledger

import (
	"io"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// ColumnType says how an export column is typed: how its values are accepted
// by WriteRow, printed in CSV and stored in XLSX.
type ColumnType int

// The column types; the Value constructor of the same name makes a cell of
// each (Text, Money, Date, DateTime, Int, Number).
const (
	ColText ColumnType = iota + 1
	ColMoney
	ColDate
	ColDateTime
	ColInt
	// ColNumber is an exact decimal that is not money: share units, a stake,
	// a MOIC, an XIRR. XLSX stores it as a number cell with the column's
	// NumFmt; CSV prints the decimal as it is.
	ColNumber
)

// Number formats for ColNumber columns (Excel format codes).
const (
	NumFmtUnits   = "#,##0.####"   // share units or registered capital
	NumFmtPercent = "0.00%"        // an XIRR, stored as a fraction (0.125 shows 12.50%)
	NumFmtStake   = "0.000000%"    // a stake, stored as a fraction to 8 places (0.02912621 shows 2.912621%)
	NumFmtRatio   = `0.00"x"`      // a multiple such as MOIC (1.5 shows 1.50x)
	NumFmtGeneral = "#,##0.00####" // the default
)

// Column describes one export column.
type Column struct {
	Title string // Chinese header
	Type  ColumnType
	Width float64 // XLSX width in characters; 0 picks one by type
	// NumFmt is the XLSX number format of a ColNumber column, e.g.
	// NumFmtPercent; "" means NumFmtGeneral. Other types ignore it.
	NumFmt string
}

// Table describes an export: its columns and, for XLSX, the sheet name. One
// description serves both formats, and the same writers serve the journal,
// the trial balance, the project register and the audit log.
type Table struct {
	Name    string // sheet name, e.g. "日记账"; at most 31 characters
	Columns []Column
	// Location is the time zone ColDateTime values are shown in (they have
	// no zone in a spreadsheet); nil means UTC. Exports for people in China
	// pass Asia/Shanghai.
	Location *time.Location
}

func (t Table) check() error {
	if len(t.Columns) == 0 {
		return errorf("table", "导出表没有列")
	}
	for i, c := range t.Columns {
		if c.Title == "" {
			return errorf("table", "导出表第 %d 列没有标题", i+1)
		}
		if c.Type < ColText || c.Type > ColNumber {
			return errorf("table", "导出表第 %d 列（%s）类型无效", i+1, c.Title)
		}
	}
	return nil
}

func (t Table) location() *time.Location {
	if t.Location == nil {
		return time.UTC
	}
	return t.Location
}

// RowWriter streams an export row by row with constant memory, so a handler
// can copy a database cursor of any length straight into the response. The
// header row is always written, so an export with no rows is still a valid
// file with headers.
//
// Typical use:
//
//	rw, err := ledger.NewRowWriter(format, w, ledger.JournalTable)
//	defer rw.Abort()
//	row := make([]ledger.Value, 0, len(ledger.JournalTable.Columns))
//	for rows.Next() { ...; row = ledger.AppendJournalRow(row[:0], &e, p); rw.WriteRow(row...) }
//	return rw.Close(head)
type RowWriter interface {
	// WriteRow writes one row: one Value per column, each empty or of the
	// column's type. The writer does not keep row after returning, so a
	// caller can reuse it.
	WriteRow(row ...Value) error
	// Close finishes the file: it records the chain head the export was
	// taken at (a CSV footer line, an XLSX sheet) and flushes everything
	// to w. It does not close w.
	Close(head ChainHead) error
	// Abort releases resources (XLSX temporary files) without finishing
	// the file. It is a no-op after Close, so it can always be deferred.
	Abort() error
}

// Format is an export file format, as chosen by a "format" query parameter.
type Format string

// The export formats.
const (
	FormatCSV  Format = "csv"
	FormatXLSX Format = "xlsx"
)

// ParseFormat accepts "csv" or "xlsx" (any case).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatCSV, FormatXLSX:
		return f, nil
	}
	return "", errorf("format", "不支持的导出格式 %q，请选择 CSV 或 XLSX", s)
}

// ContentType is the MIME type for the Content-Type header.
func (f Format) ContentType() string {
	if f == FormatXLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Ext is the file name extension, with the dot.
func (f Format) Ext() string { return "." + string(f) }

// NewRowWriter returns the writer for format f.
func NewRowWriter(f Format, w io.Writer, t Table) (RowWriter, error) {
	// Each case checks err itself: returning a nil *CSVWriter as a
	// RowWriter would make a non-nil interface.
	switch f {
	case FormatCSV:
		c, err := NewCSVWriter(w, t)
		if err != nil {
			return nil, err
		}
		return c, nil
	case FormatXLSX:
		x, err := NewXLSXWriter(w, t)
		if err != nil {
			return nil, err
		}
		return x, nil
	}
	return nil, errorf("format", "不支持的导出格式 %q，请选择 CSV 或 XLSX", string(f))
}

// Value is one typed cell of an export row. Rows are slices of Values
// rather than of interface values so that writing a row allocates nothing:
// a caller reuses one []Value for every row of a cursor. The zero Value is
// an empty cell, allowed in any column.
type Value struct {
	typ ColumnType // 0: empty
	s   string
	d   decimal.Decimal
	t   time.Time
	n   int64
}

// Text is a ColText cell.
func Text(s string) Value { return Value{typ: ColText, s: s} }

// Money is a ColMoney cell; it is shown with exactly two decimals.
func Money(d decimal.Decimal) Value { return Value{typ: ColMoney, d: d} }

// NullMoney is a ColMoney cell, empty when d is not Valid.
func NullMoney(d decimal.NullDecimal) Value {
	if !d.Valid {
		return Value{}
	}
	return Money(d.Decimal)
}

// Date is a ColDate cell: the year, month and day of t in its own location
// (a pgx `date` is midnight UTC). The zero time is an empty cell.
func Date(t time.Time) Value {
	if t.IsZero() {
		return Value{}
	}
	return Value{typ: ColDate, t: t}
}

// DateTime is a ColDateTime cell, shown in the table's Location. The zero
// time is an empty cell.
func DateTime(t time.Time) Value {
	if t.IsZero() {
		return Value{}
	}
	return Value{typ: ColDateTime, t: t}
}

// Int is a ColInt cell.
func Int(n int64) Value { return Value{typ: ColInt, n: n} }

// Number is a ColNumber cell: units, a stake or XIRR as a fraction, a MOIC.
func Number(d decimal.Decimal) Value { return Value{typ: ColNumber, d: d} }

// NullNumber is a ColNumber cell, empty when d is not Valid (an XIRR that
// cannot be computed, say).
func NullNumber(d decimal.NullDecimal) Value {
	if !d.Valid {
		return Value{}
	}
	return Number(d.Decimal)
}

// IsEmpty reports whether v is an empty cell.
func (v Value) IsEmpty() bool { return v.typ == 0 }

// checkRow checks a row against t's columns: as many values as columns, each
// empty or of its column's type.
func checkRow(t *Table, row []Value) error {
	if len(row) != len(t.Columns) {
		return errorf("row", "导出行有 %d 个值，但表有 %d 列", len(row), len(t.Columns))
	}
	for i, v := range row {
		if v.typ != 0 && v.typ != t.Columns[i].Type {
			return errorf("row", "导出第 %d 列（%s）应为%s，实为%s", i+1, t.Columns[i].Title,
				t.Columns[i].Type.label(), v.typ.label())
		}
	}
	return nil
}

func (c ColumnType) label() string {
	switch c {
	case ColText:
		return "文本"
	case ColMoney:
		return "金额"
	case ColDate:
		return "日期"
	case ColDateTime:
		return "时间"
	case ColInt:
		return "整数"
	case ColNumber:
		return "数值"
	}
	return "空"
}

// dateOf is the calendar day of t in its own location, as midnight UTC.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

const dateTimeLayout = "2006-01-02 15:04:05"
