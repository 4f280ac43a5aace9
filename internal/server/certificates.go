package server

import (
	"net/http"

	"ite/internal/applications"
	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/web/page"
)

// certificateRoutes: the list of conversion certificates (转股测算单) and
// its export, for the auditors (DOMAIN §13).
func (s *Server) certificateRoutes() []route {
	readers := can(applications.ActionReadLedger)
	return []route{
		{"GET", "/ledger/certificates", readers, s.handleCertificates},
		{"GET", "/ledger/certificates/export", readers, s.handleCertificatesExport},
	}
}

// numFmtPrice is the certificate export's price to 6 decimals; the stake
// (a fraction with 8 decimals) shows as a percentage with 6
// (ledger.NumFmtStake).
const numFmtPrice = "#,##0.000000"

// CertificateTable is the conversion certificate export (转股测算单清单).
var CertificateTable = ledger.Table{
	Name: "转股测算单",
	Columns: []ledger.Column{
		{Title: "测算单编号", Type: ledger.ColText, Width: 12},
		{Title: "企业", Type: ledger.ColText, Width: 30},
		{Title: "项目", Type: ledger.ColText, Width: 30},
		{Title: "转股日", Type: ledger.ColDate},
		{Title: "已拨付本金", Type: ledger.ColMoney},
		{Title: "转股金额", Type: ledger.ColMoney},
		{Title: "取得股数（出资额）", Type: ledger.ColNumber, NumFmt: ledger.NumFmtUnits, Width: 18},
		{Title: "转股价格（元）", Type: ledger.ColNumber, NumFmt: numFmtPrice, Width: 16},
		{Title: "持股比例", Type: ledger.ColNumber, NumFmt: ledger.NumFmtStake, Width: 14},
		{Title: "工商变更日期", Type: ledger.ColDate, Width: 14},
		{Title: "经办人", Type: ledger.ColText, Width: 12},
		{Title: "审批人", Type: ledger.ColText, Width: 12},
		{Title: "审批时间", Type: ledger.ColDateTime},
		{Title: "校验码（SHA-256）", Type: ledger.ColText, Width: 66},
	},
}

func certificateRow(c postgres.CertificateRow) []ledger.Value {
	return []ledger.Value{ledger.Text(c.Number()), ledger.Text(c.Enterprise), ledger.Text(c.Project), ledger.Date(c.ConversionDate),
		ledger.Money(c.Principal), ledger.Money(c.Amount), ledger.Number(c.Units), ledger.Number(c.Price), ledger.Number(c.Stake),
		ledger.Date(c.RegistrationDate), ledger.Text(c.PreparedBy), ledger.Text(c.ApprovedBy), ledger.DateTime(c.ApprovedAt),
		ledger.Text(c.Digest)}
}

func certificateFilter(f page.LedgerFilter) (postgres.CertificateFilter, error) {
	var cf postgres.CertificateFilter
	var err error
	cf.From, cf.To, cf.ProgrammeID, err = periodFilter(f)
	return cf, err
}

// handleCertificates lists the conversion certificates
// (GET /ledger/certificates?programme=&from=&to=).
func (s *Server) handleCertificates(w http.ResponseWriter, r *http.Request) error {
	v := page.CertificatesView{Filter: ledgerFilterOf(r.URL.Query())}
	v.Query = filterQuery(v.Filter)
	var err error
	if v.Programmes, err = s.programmeFilterOptions(r); err != nil {
		return err
	}
	f, err := certificateFilter(v.Filter)
	if err == nil {
		v.Rows, v.Head, err = s.DB.ListCertificates(r.Context(), f)
	}
	if err != nil {
		if applications.ErrorKind(err) != applications.Invalid {
			return err
		}
		v.Error = applications.ErrorMessage(err)
		return s.render(w, r, http.StatusUnprocessableEntity, page.Certificates(v))
	}
	return s.render(w, r, http.StatusOK, page.Certificates(v))
}

// handleCertificatesExport exports the certificate list
// (GET /ledger/certificates/export?format=csv|xlsx&...).
func (s *Server) handleCertificatesExport(w http.ResponseWriter, r *http.Request) error {
	f, err := certificateFilter(ledgerFilterOf(r.URL.Query()))
	if err != nil {
		return err
	}
	return s.export(w, r, "conversion_certificates", "转股测算单", CertificateTable, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
		rows, head, err := s.DB.ListCertificates(r.Context(), f)
		if err != nil {
			return head, err
		}
		for _, c := range rows {
			*n++
			if err := rw.WriteRow(certificateRow(c)...); err != nil {
				return head, err
			}
		}
		return head, nil
	})
}
