package server

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/web/page"
)

// An auditor's export, both ways: the CSV as parsed records (header first,
// footer dropped) and the XLSX workbook.
type exportPair struct {
	csv  [][]string
	xlsx []byte
}

// exportBoth downloads path (with its query) as CSV and as XLSX and checks
// that the two hold the same figures, every number of the XLSX being a
// number cell, and, when LibreOffice is installed, that LibreOffice opens
// the XLSX and shows the same figures to the fen.
func exportBoth(t *testing.T, c *client, path string, table ledger.Table) exportPair {
	t.Helper()
	p := downloadBoth(t, c, path, table)
	libreOfficeAgrees(t, path, table, p)
	return p
}

// downloadBoth is exportBoth without LibreOffice, for a test that opens
// many workbooks in one LibreOffice run (libreOfficeAgreeAll).
func downloadBoth(t *testing.T, c *client, path string, table ledger.Table) exportPair {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var p exportPair
	r := c.get(path + sep + "format=csv")
	if r.StatusCode != 200 || !strings.HasPrefix(r.body, "\uFEFF") {
		t.Fatalf("%s CSV: %d %.300q", path, r.StatusCode, r.body)
	}
	rd := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\uFEFF")))
	rd.Comment, rd.FieldsPerRecord = '#', len(table.Columns)
	var err error
	if p.csv, err = rd.ReadAll(); err != nil {
		t.Fatalf("%s CSV: %v\n%s", path, err, r.body)
	}
	r = c.get(path + sep + "format=xlsx")
	if r.StatusCode != 200 {
		t.Fatalf("%s XLSX: %d", path, r.StatusCode)
	}
	p.xlsx = []byte(r.body)
	f, err := excelize.OpenReader(bytes.NewReader(p.xlsx))
	if err != nil {
		t.Fatalf("%s XLSX does not open: %v", path, err)
	}
	defer f.Close()
	rows, err := f.GetRows(table.Name, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(p.csv) {
		t.Fatalf("%s: XLSX has %d rows, CSV %d", path, len(rows), len(p.csv))
	}
	for i := 1; i < len(rows); i++ {
		for j, col := range table.Columns {
			want, got := p.csv[i][j], cellAt(rows[i], j)
			if !isFigure(col.Type) {
				continue
			}
			name, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if want == "" && got == "" {
				continue
			}
			if typ, _ := f.GetCellType(table.Name, name); typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
				t.Errorf("%s %s (%s): a %v cell, want a number", path, name, col.Title, typ)
			}
			if !sameFigure(want, got) {
				t.Errorf("%s %s (%s): XLSX %q, CSV %q", path, name, col.Title, got, want)
			}
		}
	}
	return p
}

func cellAt(row []string, j int) string {
	if j < len(row) {
		return row[j]
	}
	return ""
}

func isFigure(c ledger.ColumnType) bool {
	return c == ledger.ColMoney || c == ledger.ColNumber || c == ledger.ColInt
}

// sameFigure compares two decimals exactly ("1000000" = "1000000.00").
func sameFigure(a, b string) bool {
	x, err1 := decimal.NewFromString(a)
	y, err2 := decimal.NewFromString(b)
	return err1 == nil && err2 == nil && x.Equal(y)
}

// libreOfficeAgrees converts the XLSX to CSV with LibreOffice headless and
// compares what it shows (formatted by each column's number format) with
// the CSV export: figures to the fen, dates and times to the second.
func libreOfficeAgrees(t *testing.T, path string, table ledger.Table, p exportPair) {
	t.Helper()
	libreOfficeAgreeAll(t, []loCheck{{path, table, p}})
}

// loCheck is one downloaded export for libreOfficeAgreeAll.
type loCheck struct {
	path  string
	table ledger.Table
	pair  exportPair
}

// libreOfficeAgreeAll converts every check's XLSX to CSV in one LibreOffice
// run (its start-up is most of the cost) and compares each with its CSV
// export.
func libreOfficeAgreeAll(t *testing.T, checks []loCheck) {
	t.Helper()
	bin, err := exec.LookPath("soffice")
	if err != nil {
		if bin, err = exec.LookPath("libreoffice"); err != nil {
			t.Logf("LibreOffice is not installed (scripts/ensure-packages.sh libreoffice installs libreoffice-calc-nogui): skipping the LibreOffice check of %d exports", len(checks))
			return
		}
	}
	dir := t.TempDir()
	args := []string{"-env:UserInstallation=file://" + filepath.Join(dir, "profile"), "--headless",
		"--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", dir}
	for i, c := range checks {
		in := filepath.Join(dir, "export"+itoa(int64(i))+".xlsx")
		if err := os.WriteFile(in, c.pair.xlsx, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, in)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("LibreOffice: %v\n%s", err, out)
	}
	for i, c := range checks {
		b, err := os.ReadFile(filepath.Join(dir, "export"+itoa(int64(i))+".csv"))
		if err != nil {
			t.Fatalf("%s: LibreOffice wrote no CSV: %v", c.path, err)
		}
		compareShown(t, c.path, c.table, c.pair, b)
	}
}

// compareShown compares what LibreOffice shows (its CSV of the XLSX,
// formatted by each column's number format) with the CSV export: figures
// to the fen, dates and times to the second.
func compareShown(t *testing.T, path string, table ledger.Table, p exportPair, b []byte) {
	t.Helper()
	rd := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF"))))
	rd.FieldsPerRecord = -1
	shown, err := rd.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) != len(p.csv) {
		t.Fatalf("%s: LibreOffice shows %d rows, the CSV has %d", path, len(shown), len(p.csv))
	}
	for i := 1; i < len(shown); i++ {
		for j, col := range table.Columns {
			want, got := p.csv[i][j], cellAt(shown[i], j)
			switch {
			case isFigure(col.Type):
				if col.Type == ledger.ColNumber && want != "" {
					want = atShownPlaces(want, got)
				}
				if (want != "" || got != "") && !sameFigure(want, fromDisplay(got)) {
					t.Errorf("%s row %d %s: LibreOffice shows %q, CSV %q", path, i+1, col.Title, got, want)
				}
			case col.Type == ledger.ColDate || col.Type == ledger.ColDateTime:
				if got != want {
					t.Errorf("%s row %d %s: LibreOffice shows %q, CSV %q", path, i+1, col.Title, got, want)
				}
			}
		}
	}
}

// atShownPlaces rounds the exact decimal want to the places a number
// format shows in shown: a MOIC of 1.234567 under 0.00"x" shows 1.23x, an
// XIRR of 0.12345678 under 0.00% shows 12.35%. Money keeps every fen (its
// format shows two places, the most it has); a stake under 0.000000% shows
// all eight places of its fraction.
func atShownPlaces(want, shown string) string {
	d, err := decimal.NewFromString(want)
	if err != nil {
		return want
	}
	s := strings.TrimSuffix(strings.TrimSpace(shown), "x")
	places := int32(0)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		places = int32(len(strings.TrimRight(s[i+1:], "%")))
	}
	if strings.HasSuffix(s, "%") {
		places += 2
	}
	return d.Round(places).String()
}

// fromDisplay undoes a number format: thousands separators, a trailing
// point ("37,500." under #,##0.####), a percent sign and a multiple's x.
func fromDisplay(s string) string {
	s = strings.TrimSuffix(strings.ReplaceAll(strings.TrimSuffix(strings.TrimSpace(s), "x"), ",", ""), ".")
	if p, ok := strings.CutSuffix(s, "%"); ok {
		if d, err := decimal.NewFromString(p); err == nil {
			return d.Shift(-2).String()
		}
	}
	return s
}

// TestEveryExportOpens downloads each of the auditor's other exports as
// CSV and XLSX and checks them against each other (and in LibreOffice when
// it is installed): the journal's and audit log's times to the second,
// every figure to the fen.
func TestEveryExportOpens(t *testing.T) {
	t.Parallel()
	m := newMoneyEnv(t, "3000000.00", "2000000.00")
	// approved at a time of day off the minute
	m.disburseApproved("987654.32", func() { m.clock.Advance(53*time.Minute + 7*time.Second) })
	c := m.loggedIn(auditor)
	for path, table := range map[string]ledger.Table{
		"/ledger/journal/export":                                       ledger.JournalTable,
		"/ledger/trial-balance/export":                                 ledger.TrialBalanceTable,
		"/ledger/accounts/export?account=1002/prog/" + itoa(m.prog.ID): AccountLedgerTable,
		"/ledger/register/export":                                      RegisterTable,
		"/ledger/audit/export?event=disbursement_approved":             AuditTable, // one event: each download adds an "export" row
	} {
		t.Run(table.Name, func(t *testing.T) {
			p := exportBoth(t, c, path, table)
			if len(p.csv) < 2 {
				t.Fatalf("%s: no rows", path)
			}
		})
	}
}

// TestEquityAndDashboardExportsOpen: the equity register's and the
// dashboard's exports after example A has converted and exited hold every
// figure as a number cell in its format (units, the stake as 0.000000%,
// MOIC as 0.00x, XIRR as a percentage), equal to the CSV's, and open in
// LibreOffice showing the same figures.
func TestEquityAndDashboardExportsOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.fundedA(termsA)
	e.convertAndExitA(id)
	c := e.loggedIn(auditor)
	var checks []loCheck
	both := func(t *testing.T, path string, table ledger.Table) exportPair {
		p := downloadBoth(t, c, path, table)
		checks = append(checks, loCheck{path, table, p})
		return p
	}
	t.Run("EquityRegister", func(t *testing.T) {
		p := both(t, "/equity", EquityTable)
		if len(p.csv) != 2 {
			t.Fatalf("%d rows, want the header and example A", len(p.csv))
		}
		// example A: 1,000,000 pre-money units, 3,000,000.00 converted at
		// 80.00 a unit: 37,500 units, 37,500 / 1,287,500 = 2.912621%
		if row := p.csv[1]; !sameFigure(row[4], "37500") || !sameFigure(row[6], "0.02912621") {
			t.Errorf("units %q, stake %q", row[4], row[6])
		}
		assertCellFormat(t, p.xlsx, EquityTable.Name, "G2", ledger.NumFmtStake)
		assertCellFormat(t, p.xlsx, EquityTable.Name, "E2", ledger.NumFmtUnits)
	})
	for _, sec := range page.DashboardSections {
		t.Run("Dashboard_"+sec.Key, func(t *testing.T) {
			table := ledger.Table{Name: sec.Title, Columns: dashboardColumns[sec.Key]}
			p := both(t, "/dashboard/export/"+sec.Key, table)
			if sec.Key != "returns" {
				return
			}
			if len(p.csv) != 2 || p.csv[1][6] == "" || p.csv[1][7] == "" {
				t.Fatalf("returns: %q, want example A with its MOIC and XIRR", p.csv)
			}
			assertCellFormat(t, p.xlsx, sec.Title, "G2", ledger.NumFmtRatio)
			assertCellFormat(t, p.xlsx, sec.Title, "H2", ledger.NumFmtPercent)
		})
	}
	// the indicator tables' columns do not depend on the figures
	for _, sec := range indicatorSections(postgres.Indicators{}) {
		t.Run("Indicators_"+sec.Key, func(t *testing.T) {
			p := both(t, "/dashboard/indicators/export/"+sec.Key, ledger.Table{Name: sec.Title, Columns: sec.Columns})
			if sec.Key == "summary" && len(p.csv) < 10 {
				t.Fatalf("summary: %d rows", len(p.csv))
			}
		})
	}
	t.Run("LibreOfficeShowsTheSameFigures", func(t *testing.T) { libreOfficeAgreeAll(t, checks) })
}

// assertCellFormat checks that cell of sheet carries the number format
// want.
func assertCellFormat(t *testing.T, xlsx []byte, sheet, cell, want string) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(xlsx))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if st.CustomNumFmt == nil || *st.CustomNumFmt != want {
		got := "none"
		if st.CustomNumFmt != nil {
			got = *st.CustomNumFmt
		}
		t.Errorf("%s!%s: number format %q, want %q", sheet, cell, got, want)
	}
}
