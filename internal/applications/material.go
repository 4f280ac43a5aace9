package applications

// Material is a code of the document checklist (DOMAIN §5).
type Material string

// The materials. The first eight are required by default.
const (
	MaterialApplicationForm         Material = "application_form"
	MaterialBusinessLicense         Material = "business_license"
	MaterialLegalRepID              Material = "legal_rep_id"
	MaterialProjectLeadID           Material = "project_lead_id"
	MaterialEnterpriseCreditReport  Material = "enterprise_credit_report"
	MaterialLeadCreditReport        Material = "lead_credit_report"
	MaterialIntegrityPledge         Material = "integrity_pledge"
	MaterialAuthenticityDeclaration Material = "authenticity_declaration"
	MaterialFinancialStatements     Material = "financial_statements"
	MaterialIPCertificates          Material = "ip_certificates"
	MaterialOther                   Material = "other"
	// MaterialSignedAgreement is the signed investment agreement, uploaded
	// by staff after the notice; it is not part of the checklist.
	MaterialSignedAgreement Material = "signed_agreement"
	// MaterialEvidence backs a reported event or a write-off (a financing
	// agreement, an audit report, the 尽职免责 file).
	MaterialEvidence Material = "evidence"
)

// Field is the structured value that must be entered with a material.
type Field string

// Structured fields of materials.
const (
	FieldNone        Field = ""
	FieldUSCCOnItem  Field = "uscc"       // business licence: must match the enterprise's
	FieldIDOnItem    Field = "id_number"  // ID copies: GB 11643 check digit and birth date
	FieldIssueOnItem Field = "issue_date" // credit reports: not older than the programme's limit
)

type materialInfo struct {
	label     string
	sensitive bool
	field     Field
	template  bool // a fillable template can be downloaded
}

var materials = map[Material]materialInfo{
	MaterialApplicationForm:         {"项目申请书", false, FieldNone, true},
	MaterialBusinessLicense:         {"营业执照复印件", false, FieldUSCCOnItem, false},
	MaterialLegalRepID:              {"法定代表人身份证复印件", true, FieldIDOnItem, false},
	MaterialProjectLeadID:           {"项目负责人身份证复印件", true, FieldIDOnItem, false},
	MaterialEnterpriseCreditReport:  {"申报单位征信报告", true, FieldIssueOnItem, false},
	MaterialLeadCreditReport:        {"项目负责人征信报告", true, FieldIssueOnItem, false},
	MaterialIntegrityPledge:         {"诚信承诺书", false, FieldNone, true},
	MaterialAuthenticityDeclaration: {"材料真实性声明", false, FieldNone, true},
	MaterialFinancialStatements:     {"财务报表", false, FieldNone, false},
	MaterialIPCertificates:          {"知识产权证明", false, FieldNone, false},
	MaterialOther:                   {"其他材料", false, FieldNone, false},
	MaterialSignedAgreement:         {"已签署的投资协议", false, FieldNone, false},
	MaterialEvidence:                {"证明材料", false, FieldNone, false},
}

// DefaultRequiredMaterials are the eight items every application needs
// unless the programme says otherwise.
var DefaultRequiredMaterials = []Material{
	MaterialApplicationForm, MaterialBusinessLicense, MaterialLegalRepID, MaterialProjectLeadID,
	MaterialEnterpriseCreditReport, MaterialLeadCreditReport, MaterialIntegrityPledge,
	MaterialAuthenticityDeclaration,
}

// OptionalMaterials may always be uploaded.
var OptionalMaterials = []Material{MaterialFinancialStatements, MaterialIPCertificates, MaterialOther}

// AllMaterials lists every material in checklist order.
func AllMaterials() []Material {
	return append(append([]Material{}, DefaultRequiredMaterials...), OptionalMaterials...)
}

// Valid reports whether m is a known material.
func (m Material) Valid() bool { _, ok := materials[m]; return ok }

// Label is the Chinese name.
func (m Material) Label() string {
	if i, ok := materials[m]; ok {
		return i.label
	}
	return string(m)
}

// Sensitive items (ID copies, credit reports) are encrypted at rest, every
// view is audit-logged, and experts never see them.
func (m Material) Sensitive() bool { return materials[m].sensitive }

// Field is the structured value entered with the item.
func (m Material) Field() Field { return materials[m].field }

// HasTemplate reports whether a fillable template can be downloaded.
func (m Material) HasTemplate() bool { return materials[m].template }

// ParseMaterial checks a material code from a request.
func ParseMaterial(s string) (Material, error) {
	m := Material(s)
	if !m.Valid() {
		return "", Errorf(NotFound, "材料项目不存在，请从材料清单中选择。")
	}
	return m, nil
}

// MaterialStatus is where one checklist item stands.
type MaterialStatus string

// Item states shown on the checklist.
const (
	MaterialMissing  MaterialStatus = "missing"
	MaterialUploaded MaterialStatus = "uploaded"
	MaterialReturned MaterialStatus = "returned"
	MaterialAccepted MaterialStatus = "accepted"
)

// Label is the Chinese name of the status.
func (s MaterialStatus) Label() string {
	switch s {
	case MaterialMissing:
		return "未上传"
	case MaterialUploaded:
		return "已上传"
	case MaterialReturned:
		return "退回补正"
	case MaterialAccepted:
		return "已通过"
	}
	return string(s)
}
