package postgres

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
)

// The journal export reads a million rows; going through Rows.Scan costs a
// string allocation per text column and a big.Int round trip per amount,
// and it was most of the export's CPU. rawDecoder reads the binary wire
// format of the few column types the export selects straight from
// Rows.RawValues, and reuses a string when a column repeats the previous
// row's value (an entry's fields repeat on each of its postings). It is
// used only when every column arrives in the binary format with the
// expected type; otherwise the caller scans as usual.

// pgEpoch is 2000-01-01, day and microsecond zero of PostgreSQL's binary
// date and timestamp formats.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

var errRawFormat = errors.New("postgres: unexpected binary value")

// rawColumns checks that rows' columns have the given type OIDs and, text
// aside, come in the binary format.
func rawColumns(rows pgx.Rows, oids ...uint32) bool {
	fds := rows.FieldDescriptions()
	if len(fds) != len(oids) {
		return false
	}
	for i, fd := range fds {
		// text is the same bytes in either format; pgx asks for it as text
		if fd.DataTypeOID != oids[i] || (fd.Format != pgx.BinaryFormatCode && fd.DataTypeOID != pgtype.TextOID) {
			return false
		}
	}
	return true
}

func rawInt8(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, errRawFormat
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func rawDate(b []byte) (time.Time, error) {
	if len(b) != 4 {
		return time.Time{}, errRawFormat
	}
	days := int32(binary.BigEndian.Uint32(b))
	if days == 1<<31-1 || days == -1<<31 { // ±infinity
		return time.Time{}, errRawFormat
	}
	return pgEpoch.AddDate(0, 0, int(days)), nil
}

func rawTimestamptz(b []byte) (time.Time, error) {
	if len(b) != 8 {
		return time.Time{}, errRawFormat
	}
	us := int64(binary.BigEndian.Uint64(b))
	if us == 1<<63-1 || us == -1<<63 {
		return time.Time{}, errRawFormat
	}
	return pgEpoch.Add(time.Duration(us) * time.Microsecond), nil
}

// rawString returns b as a string, reusing prev when the bytes are equal.
func rawString(b []byte, prev string) string {
	if len(b) == len(prev) && string(b) == prev { // compared without allocating
		return prev
	}
	return string(b)
}

// rawNumeric decodes a binary numeric with at most two decimals and 18
// digits into a decimal with exponent -2 (the form numeric(18,2) is read
// as elsewhere); anything else goes through pgtype.
func rawNumeric(b []byte) (decimal.Decimal, error) {
	if len(b) < 8 {
		return decimal.Decimal{}, errRawFormat
	}
	ndigits := int(int16(binary.BigEndian.Uint16(b)))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	if (sign != 0 && sign != 0x4000) || len(b) != 8+2*ndigits || ndigits > 5 {
		return slowNumeric(b)
	}
	var acc int64
	for i := range ndigits {
		acc = acc*10000 + int64(binary.BigEndian.Uint16(b[8+2*i:]))
	}
	// acc × 10000^k is the value; cents = value × 100.
	k := weight - ndigits + 1
	cents := acc * 100
	switch {
	case ndigits == 0:
		cents = 0
	case k < -1:
		return slowNumeric(b)
	case k == -1:
		if cents%10000 != 0 {
			return slowNumeric(b)
		}
		cents /= 10000
	default:
		for ; k > 0; k-- {
			if cents > (1<<63-1)/10000 {
				return slowNumeric(b)
			}
			cents *= 10000
		}
	}
	if sign == 0x4000 {
		cents = -cents
	}
	return decimal.New(cents, -2), nil
}

func slowNumeric(b []byte) (decimal.Decimal, error) {
	var n pgtype.Numeric
	plan := pgtype.NumericCodec{}.PlanScan(nil, pgtype.NumericOID, pgtype.BinaryFormatCode, &n)
	if err := plan.Scan(b, &n); err != nil {
		return decimal.Decimal{}, err
	}
	var d decimal.Decimal
	return d, numericInto{&d}.ScanNumeric(n)
}

// internKind, internCode, internScope and internSide return the constant
// string of a known value without allocating (a switch on string(b) does
// not copy), or a new string for anything else.
func internKind(b []byte) string {
	switch string(b) {
	case "appropriation":
		return "appropriation"
	case "disbursement":
		return "disbursement"
	case "conversion":
		return "conversion"
	case "exit":
		return "exit"
	case "lapse_grant":
		return "lapse_grant"
	case "recovery":
		return "recovery"
	case "recovery_receipt":
		return "recovery_receipt"
	case "write_off":
		return "write_off"
	case "reversal":
		return "reversal"
	}
	return string(b)
}

func internCode(b []byte) string {
	switch string(b) {
	case "1002":
		return "1002"
	case "1221":
		return "1221"
	case "1511":
		return "1511"
	case "1131":
		return "1131"
	case "3001":
		return "3001"
	case "6111":
		return "6111"
	case "6711":
		return "6711"
	case "6401":
		return "6401"
	}
	return string(b)
}

func internScope(b []byte) string {
	switch string(b) {
	case "prog":
		return "prog"
	case "app":
		return "app"
	}
	return string(b)
}

func internSide(b []byte) string {
	switch string(b) {
	case "debit":
		return "debit"
	case "credit":
		return "credit"
	}
	return string(b)
}

// journalDecoder reads ExportJournal's rows from their wire values. It
// remembers the last date, time and amount it decoded: an entry's fields
// repeat on each of its postings, and a two-line entry's amounts are equal.
type journalDecoder struct {
	day     [4]byte
	dayT    time.Time
	at      [8]byte
	atT     time.Time
	amount  []byte
	amountD decimal.Decimal
}

func (d *journalDecoder) date(b []byte) (time.Time, error) {
	if len(b) == 4 && !d.dayT.IsZero() && [4]byte(b) == d.day {
		return d.dayT, nil
	}
	t, err := rawDate(b)
	if err == nil {
		d.day, d.dayT = [4]byte(b), t
	}
	return t, err
}

func (d *journalDecoder) timestamptz(b []byte) (time.Time, error) {
	if len(b) == 8 && !d.atT.IsZero() && [8]byte(b) == d.at {
		return d.atT, nil
	}
	t, err := rawTimestamptz(b)
	if err == nil {
		d.at, d.atT = [8]byte(b), t
	}
	return t, err
}

func (d *journalDecoder) numeric(b []byte) (decimal.Decimal, error) {
	if d.amount != nil && string(b) == string(d.amount) {
		return d.amountD, nil
	}
	v, err := rawNumeric(b)
	if err == nil {
		d.amount, d.amountD = append(d.amount[:0], b...), v
	}
	return v, err
}
