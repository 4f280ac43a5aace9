package applications

// The statuses of the records around an application, one type per record
// kind so a comparison with another kind's status does not compile. The
// strings are the ones stored (each table's status CHECK constraint); the
// money records' MoneyStatus is in disbursements.go, ReportStatus in
// reports.go.

// AssignmentStatus is where an expert's panel assignment stands.
type AssignmentStatus string

// Assignment statuses: assigned → declared (no conflict of interest) →
// submitted, or assigned → recused.
const (
	AssignmentAssigned  AssignmentStatus = "assigned"
	AssignmentDeclared  AssignmentStatus = "declared"
	AssignmentRecused   AssignmentStatus = "recused"
	AssignmentSubmitted AssignmentStatus = "submitted"
)

// DecisionStatus is where a drafted funding decision stands.
type DecisionStatus string

// Decision statuses: pending → approved, or → sent back to be redrafted.
const (
	DecisionPending  DecisionStatus = "pending"
	DecisionApproved DecisionStatus = "approved"
	DecisionSentBack DecisionStatus = "sent_back"
)

// ObjectionStatus is where an objection raised during a notice stands.
type ObjectionStatus string

// Objection statuses: open → dismissed (staff's decision), or open →
// proposed (staff propose upholding it) → upheld (an approver approves) or
// back to open (sent back).
const (
	ObjectionOpen      ObjectionStatus = "open"
	ObjectionProposed  ObjectionStatus = "proposed"
	ObjectionUpheld    ObjectionStatus = "upheld"
	ObjectionDismissed ObjectionStatus = "dismissed"
)

// AgreementStatus is where a version of an investment agreement stands.
type AgreementStatus string

// Agreement statuses: draft → signed → superseded (by the next signed
// version); a draft amendment that is refused is superseded unsigned.
const (
	AgreementDraft      AgreementStatus = "draft"
	AgreementSigned     AgreementStatus = "signed"
	AgreementSuperseded AgreementStatus = "superseded"
)

// EventStatus is where a reported trigger event stands.
type EventStatus string

// Event statuses: reported → verified or rejected.
const (
	EventReported EventStatus = "reported"
	EventVerified EventStatus = "verified"
	EventRejected EventStatus = "rejected"
)

// ConversionStatus is where a conversion (转股) stands: prepared by a maker,
// approved or rejected by a checker.
type ConversionStatus string

// Conversion statuses.
const (
	ConversionPending  ConversionStatus = "pending"
	ConversionApproved ConversionStatus = "approved"
	ConversionRejected ConversionStatus = "rejected"
)

// ExitStatus is where an exit (退出) stands: prepared by a maker, approved
// or rejected by a checker.
type ExitStatus string

// Exit statuses.
const (
	ExitPending  ExitStatus = "pending"
	ExitApproved ExitStatus = "approved"
	ExitRejected ExitStatus = "rejected"
)

// EndingStatus is where an ending (a lapsed project turned into a grant,
// recovered, extended or written off; a recovery receipt) stands: prepared
// by a maker, approved or rejected by a checker.
type EndingStatus string

// Ending statuses.
const (
	EndingPending  EndingStatus = "pending"
	EndingApproved EndingStatus = "approved"
	EndingRejected EndingStatus = "rejected"
)
