package postgres

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/internal/ledger"
)

// TestJournalCSVCopyMatchesEncoder: the journal's CSV through COPY is byte
// for byte the file ledger.CSVWriter writes from ExportJournal's rows (the
// export before COPY, and still the XLSX path), on memos and record types
// that exercise every rule of the encoder, with each filter of the
// journal.
func TestJournalCSVCopyMatchesEncoder(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	app := w.contract("2000000")
	memos := []string{
		"财政拨入第一批资金",
		"含逗号,的摘要",
		`引号"内"容`,
		"换行\n第二行",
		"回车换行\r\n第二行",
		" 前导空格",
		"末尾空格 ",
		"=SUM(A1:A9)",
		"+86 138 0000 0000",
		"-5",
		"+3.2",
		"-3.",
		"-abc",
		"@cmd",
		"\t制表开头",
		"'已有撇号",
		"\x01控制\x02字符",
		"\x01开头,含逗号\n和换行\x01\x01",
		`C:\路径\文件 \. \N`,
		`\.`,
		"emoji 😀 与全角，逗号",
		"=\"引号\",\n全都有",
	}
	post := func(e ledger.Entry, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var seq int64
		err = w.db.inTx(w.ctx, func(tx pgx.Tx) error {
			got, _, err := postEntry(w.ctx, tx, testNow, e)
			seq = got.Seq
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	amounts := []string{"0.01", "100", "1234567.89", "9999999999999999.99"}
	for i, memo := range memos {
		var e ledger.Entry
		var err error
		if i%2 == 0 {
			e, err = ledger.Appropriation(w.prog.ID, dec(amounts[i%len(amounts)]))
		} else {
			e, err = ledger.Disbursement(w.prog.ID, app, dec(amounts[i%len(amounts)]))
		}
		e.ValueDate = testNow.AddDate(0, 0, -i)
		e.Memo = memo
		e.Record = ledger.RecordRef{Type: []string{"appropriation", `a,b"c`, " 前导", "=x", "换\n行"}[i%5], ID: int64(i + 1)}
		e.MakerID, e.CheckerID, e.IdempotencyKey = w.staff.ID, w.approver.ID, w.key()
		post(e, err)
	}
	orig, err := w.db.FindEntry(w.ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := ledger.Reverse(orig.Entry)
	if err == nil {
		rev.ValueDate, rev.MakerID, rev.CheckerID, rev.IdempotencyKey = testNow, w.staff.ID, w.approver.ID, w.key()
	}
	post(rev, err)

	// PostgreSQL text cannot hold NUL: such a memo is refused before it is
	// stored, so no export ever meets one.
	nul, _ := ledger.Appropriation(w.prog.ID, dec("1"))
	nul.ValueDate, nul.Memo, nul.Record = testNow, "空\x00字符", ledger.RecordRef{Type: "appropriation", ID: 99}
	nul.MakerID, nul.CheckerID, nul.IdempotencyKey = w.staff.ID, w.approver.ID, w.key()
	err = w.db.inTx(w.ctx, func(tx pgx.Tx) error { _, _, err := postEntry(w.ctx, tx, testNow, nul); return err })
	wantKind(t, err, applications.Invalid, "摘要包含无效字符")

	encoder := func(f JournalFilter) ([]byte, int64) {
		t.Helper()
		var buf bytes.Buffer
		tbl := ledger.JournalTable
		tbl.Location = day.Zone
		rw, err := ledger.NewRowWriter(ledger.FormatCSV, &buf, tbl)
		if err != nil {
			t.Fatal(err)
		}
		row := make([]ledger.Value, 0, len(tbl.Columns))
		var n int64
		head, err := w.db.ExportJournal(w.ctx, f, func(e *ledger.Entry, p ledger.Posting) error {
			n++
			row = ledger.AppendJournalRow(row[:0], e, p)
			return rw.WriteRow(row...)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := rw.Close(head); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), n
	}
	filters := map[string]JournalFilter{
		"all":               {},
		"from-to":           {From: testNow.AddDate(0, 0, -10), To: testNow.AddDate(0, 0, -3)},
		"programme":         {ProgrammeID: w.prog.ID},
		"project":           {ApplicationID: app},
		"account":           {Account: "1221"},
		"sub-account":       {Account: "1002/prog/" + itoa64(w.prog.ID)},
		"all filters":       {From: testNow.AddDate(0, 0, -30), To: testNow, ProgrammeID: w.prog.ID, ApplicationID: app, Account: "1221/app/" + itoa64(app)},
		"empty":             {From: testNow.AddDate(1, 0, 0)},
		"paging is ignored": {AfterSeq: 5, Limit: 2},
	}
	for name, f := range filters {
		t.Run(name, func(t *testing.T) {
			want, wantRows := encoder(f)
			var got bytes.Buffer
			head, rows, err := w.db.CopyJournalCSV(w.ctx, f, &got)
			if err != nil {
				t.Fatal(err)
			}
			if rows != wantRows || head.Seq != int64(len(memos)+1) {
				t.Fatalf("rows %d head %v, want %d rows at %d", rows, head, wantRows, len(memos)+1)
			}
			if !bytes.Equal(got.Bytes(), want) {
				gl, wl := strings.Split(got.String(), "\r\n"), strings.Split(string(want), "\r\n")
				for i := 0; i < len(gl) && i < len(wl); i++ {
					if gl[i] != wl[i] {
						t.Fatalf("line %d differs:\n got %q\nwant %q", i, gl[i], wl[i])
					}
				}
				t.Fatalf("%d lines, want %d", len(gl), len(wl))
			}
		})
	}
	// The fixture did reach the rules it is for.
	all, _ := encoder(JournalFilter{})
	for _, s := range []string{"\"含逗号,的摘要\"", `"引号""内""容"`, "\"换行\n第二行\"", `" 前导空格"`, "'=SUM(A1:A9)",
		",-5,", ",+3.2,", "'-3.", "'@cmd", "\"a,b\"\"c#2\"", "财政拨入", "冲销", "9999999999999999.99", "\x01\x01"} {
		if !bytes.Contains(all, []byte(s)) {
			t.Errorf("the encoder's file has no %q", s)
		}
	}
	if n := bytes.Count(all, []byte("\r\n")); n < 2*len(memos)+4 {
		t.Errorf("%d lines", n)
	}

	t.Run("bad filter", func(t *testing.T) {
		var got bytes.Buffer
		_, _, err := w.db.CopyJournalCSV(w.ctx, JournalFilter{Account: "9999"}, &got)
		wantKind(t, err, applications.Invalid, "9999")
		if got.Len() != 0 {
			t.Fatalf("%d bytes written for a refused filter", got.Len())
		}
	})
}
