package applications

import (
	"strings"
	"time"
)

// Document is one uploaded version of a material.
type Document struct {
	ID             int64
	ApplicationID  int64
	Item           Material
	Version        int
	BlobKey        string
	Filename       string // display only, never a path
	Kind           string // pdf | jpeg | png | ofd
	Size           int64
	SHA256         string
	Encrypted      bool
	EncAlg         string
	WrappedKey     []byte
	USCC           string
	IDMasked       string
	IDCipher       []byte
	IssueDate      time.Time
	UploadedBy     int64
	UploadedByName string
	UploadedAt     time.Time
}

// Review is staff's verdict on one version of an item.
type Review struct {
	Item       Material
	DocumentID int64
	Accepted   bool
	Reason     string
	Reviewer   string
	At         time.Time
}

// ChecklistItem is one line of an application's materials checklist.
type ChecklistItem struct {
	Material Material
	Required bool
	Status   MaterialStatus
	Reason   string     // why it was returned
	Current  *Document  // the newest version, nil when missing
	Versions []Document // newest first
}

// BuildChecklist derives each item's state from its versions and the
// latest verdict. A verdict only counts for the version it judged: a new
// upload after a return shows as uploaded again.
func BuildChecklist(p Programme, docs []Document, reviews []Review) []ChecklistItem {
	byItem := map[Material][]Document{}
	for _, d := range docs {
		byItem[d.Item] = append(byItem[d.Item], d)
	}
	verdict := map[Material]Review{}
	for _, r := range reviews {
		verdict[r.Item] = r
	}
	var items []ChecklistItem
	for _, m := range p.Checklist() {
		it := ChecklistItem{Material: m, Required: p.Requires(m), Status: MaterialMissing}
		vs := byItem[m]
		sortByVersionDesc(vs)
		it.Versions = vs
		if len(vs) > 0 {
			cur := vs[0]
			it.Current = &cur
			it.Status = MaterialUploaded
			if r, ok := verdict[m]; ok && r.DocumentID == cur.ID {
				if r.Accepted {
					it.Status = MaterialAccepted
				} else {
					it.Status, it.Reason = MaterialReturned, r.Reason
				}
			}
		}
		items = append(items, it)
	}
	return items
}

func sortByVersionDesc(ds []Document) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].Version > ds[j-1].Version; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

// CheckSubmittable refuses submission until every required item has a
// current version that is not returned, naming what is still needed.
func CheckSubmittable(items []ChecklistItem) error {
	var missing, returned []string
	for _, it := range items {
		if !it.Required {
			continue
		}
		switch it.Status {
		case MaterialMissing:
			missing = append(missing, it.Material.Label())
		case MaterialReturned:
			returned = append(returned, it.Material.Label())
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "尚未上传："+strings.Join(missing, "、"))
	}
	if len(returned) > 0 {
		parts = append(parts, "已退回待重新上传："+strings.Join(returned, "、"))
	}
	if len(parts) > 0 {
		return &Error{Kind: Conflict, Field: "materials", Message: "材料不齐，暂不能提交。" + strings.Join(parts, "；") + "。"}
	}
	return nil
}

// CheckReviewOutcome says whether formal review can end: accept needs
// every required item accepted; return needs at least one item returned
// and none still unjudged.
func CheckReviewOutcome(items []ChecklistItem, accept bool) error {
	var pending, returned []string
	for _, it := range items {
		if it.Status == MaterialReturned {
			returned = append(returned, it.Material.Label())
		}
		if it.Required && (it.Status == MaterialUploaded || it.Status == MaterialMissing) {
			pending = append(pending, it.Material.Label())
		}
	}
	if len(pending) > 0 {
		return Errorf(Conflict, "还有材料未审查：%s。请逐项标记“通过”或“退回”后再完成审查。", strings.Join(pending, "、"))
	}
	if accept && len(returned) > 0 {
		return Errorf(Conflict, "以下材料已退回，不能通过形式审查：%s。请改为“退回补正”。", strings.Join(returned, "、"))
	}
	if !accept && len(returned) == 0 {
		return Errorf(Conflict, "没有被退回的材料。如材料齐全，请点击“通过形式审查”。")
	}
	return nil
}

// TransitionRecord is one recorded state change, for the timeline.
type TransitionRecord struct {
	From      State
	To        State
	ActorName string
	ActorRole string
	Reason    string
	At        time.Time
}

// Comment is a liaison's coaching note on a pre-check.
type Comment struct {
	ID     int64
	Item   Material // empty for the whole application
	Body   string
	Author string
	At     time.Time
}
