package seed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/blob"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/internal/suite"
)

// SyntheticOptions controls Synthetic.
type SyntheticOptions struct {
	// N is the number of applications to create (1 to MaxSynthetic).
	N int
	// Production refuses the run: synthetic accounts share a published
	// password (DemoPassword).
	Production bool
	// Blobs, MasterKey and Crypto store the documents, as uploads do:
	// every document goes through blob.Ingest, sensitive ones encrypted
	// with the algorithm Crypto chooses.
	Blobs     blob.Store
	MasterKey []byte
	Crypto    suite.Suite
	// NoDocuments creates applications and their timelines only: no
	// document rows, no blobs, no material verdicts. The staff queue never
	// reads documents, so its benchmark loads 100,000 applications this way
	// in seconds; the data are then not what the checklist rules would
	// allow (a submitted application without its materials).
	NoDocuments bool
	// Seed makes the run reproducible (same names, amounts, states and
	// files for the same seed); 0 means 1.
	Seed uint64
	// Workers is how many blobs are stored at once (default 8: storing is
	// fsync-bound, and the filesystem journal batches concurrent fsyncs).
	Workers int
	// Batch is how many applications are written per transaction
	// (default 1000).
	Batch int
	// PasswordParams hash the shared password (default auth.DefaultParams).
	PasswordParams auth.Params
	// Progress, when set, gets one line per batch.
	Progress io.Writer
	// Now is the clock (default the database's).
	Now func() time.Time
}

// MaxSynthetic bounds N: ExampleUSCC gives distinct codes for 10^8 seeds,
// and the synthetic enterprises use seeds from 10^7 up.
const MaxSynthetic = 10_000_000

// SyntheticReport is what a run created.
type SyntheticReport struct {
	Programmes   []applications.Programme
	Enterprises  int
	Users        int
	Applications int
	Documents    int
	BlobBytes    int64
	States       map[applications.State]int
	Elapsed      time.Duration
	// SampleUsername is one synthetic enterprise account (password
	// DemoPassword).
	SampleUsername string
}

// SyntheticPrefix starts every synthetic username (syn0001234); they sign
// in with DemoPassword.
const SyntheticPrefix = "syn"

// Synthetic creates N realistic applications for benchmarks and
// demonstrations: about N/3 enterprises (each with one enterprise user),
// two programmes (the current one, open, with four fifths of the
// applications, and last year's, closed), every sector, and states across
// the lifecycle up to under_review with the transitions, documents and
// verdicts that history leaves:
//
//	draft 30%; submitted 20% (a quarter of them resubmitted after a
//	return); returned 12%; under_review 23% (a third after a return);
//	rejected 5%; withdrawn 10% (half from draft, half after a return)
//
// Every step is checked against the domain state machine. An application
// past draft has all eight required items (one small generated PDF or
// PNG each; ID copies are PNG, the rest PDF; a returned item has a second
// version), a draft a random part of them; some have financial
// statements too. The business licence carries the enterprise's 信用代码,
// ID copies an ID number (ExampleIDNumber) sealed with the master key,
// credit reports an issue date within the programme's limit. Documents
// go through blob.Ingest like uploads, so sensitive ones are encrypted.
//
// documents.blob_key is UNIQUE, so documents cannot share a blob: each
// document has its own blob (300–900 bytes). For N = 100,000 that is
// about 690,000 blobs, which is what bounds the run's time: blob writes
// are fsync-bound (two fsyncs each on the local backend).
//
// Rows are written with COPY in batches of Batch applications, one
// transaction per batch after the batch's blobs are stored: a run that
// fails half-way leaves whole applications, and blobs of a failed batch
// are deleted (what a crash leaves, the sweeper removes). One audit row
// records the run, whatever its outcome; no row is written per
// application. Synthetic staff (synstaff1–3) are created only when the
// database has no staff user to act as liaison and reviewer.
func Synthetic(ctx context.Context, db *postgres.DB, o SyntheticOptions) (SyntheticReport, error) {
	start := time.Now()
	rep := SyntheticReport{States: map[applications.State]int{}}
	switch {
	case o.Production:
		return rep, ErrProduction
	case o.N < 1 || o.N > MaxSynthetic:
		return rep, fmt.Errorf("seed: synthetic N must be 1 to %d, got %d", MaxSynthetic, o.N)
	case !o.NoDocuments && o.Blobs == nil:
		return rep, errors.New("seed: synthetic documents need a blob store")
	case !o.NoDocuments && len(o.MasterKey) != blob.MasterKeyLen:
		return rep, fmt.Errorf("seed: master key must be %d bytes", blob.MasterKeyLen)
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.PasswordParams.Memory == 0 {
		o.PasswordParams = auth.DefaultParams
	}
	if o.Now == nil {
		o.Now = db.Now
	}
	g := &generator{db: db, o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x5eed)), now: o.Now().UTC()}
	err := g.run(ctx, &rep)
	rep.Elapsed = time.Since(start)
	outcome := audit.Success
	detail := map[string]any{"requested": o.N, "applications": rep.Applications, "enterprises": rep.Enterprises,
		"users": rep.Users, "documents": rep.Documents, "blob_bytes": rep.BlobBytes, "seed": o.Seed,
		"elapsed_ms": rep.Elapsed.Milliseconds(), "states": rep.States}
	var ids []int64
	for _, p := range rep.Programmes {
		ids = append(ids, p.ID)
	}
	detail["programme_ids"] = ids
	if err != nil {
		outcome = audit.Failure
		detail["error"] = err.Error()
	}
	if aerr := db.RecordAudit(context.WithoutCancel(ctx), audit.Event{Actor: seedActor, Name: "synthetic_seed",
		ObjectType: "seed", ObjectID: "synthetic", Outcome: outcome, Detail: detail}); aerr != nil && err == nil {
		err = aerr
	}
	return rep, err
}

type generator struct {
	db  *postgres.DB
	o   SyntheticOptions
	rng *rand.Rand
	now time.Time

	programmes []applications.Programme
	ents       []synthEnterprise
	staff      []postgres.StaffMember
}

type synthEnterprise struct {
	id     int64
	name   string
	uscc   string
	sector applications.Sector
	userID int64
	user   string // display name
}

func (g *generator) run(ctx context.Context, rep *SyntheticReport) error {
	if err := g.setup(ctx, rep); err != nil {
		return err
	}
	for done := 0; done < g.o.N; {
		n := min(g.o.Batch, g.o.N-done)
		docs, stored, err := g.batch(ctx, done, n, rep)
		if err != nil {
			return err
		}
		done += n
		rep.Applications, rep.Documents, rep.BlobBytes = done, rep.Documents+docs, rep.BlobBytes+stored
		if g.o.Progress != nil {
			fmt.Fprintf(g.o.Progress, "合成数据：已写入 %d/%d 个申报、%d 份材料\n", done, g.o.N, rep.Documents)
		}
	}
	return g.db.VacuumSynthetic(ctx)
}

// setup creates the programmes, the enterprises with their users, and
// synthetic staff if there is none.
func (g *generator) setup(ctx context.Context, rep *SyntheticReport) error {
	today := g.now.Truncate(24 * time.Hour)
	cur := applications.NewProgramme(g.now.Year(), g.now)
	cur.Name = strconv.Itoa(g.now.Year()) + "年度先投后股科技项目（合成数据）"
	cur.Status = applications.ProgrammeOpen
	cur.OpensOn, cur.ClosesOn = today.AddDate(0, 0, -60), today.AddDate(0, 0, 30)
	cur.TotalBudget = decimal.RequireFromString("500000000.00")
	ps := []applications.Programme{cur}
	if g.o.N >= 2 {
		last := applications.NewProgramme(g.now.Year()-1, g.now)
		last.Name = strconv.Itoa(g.now.Year()-1) + "年度先投后股科技项目（合成数据）"
		last.Status = applications.ProgrammeClosed
		last.OpensOn, last.ClosesOn = today.AddDate(-1, 0, -60), today.AddDate(-1, 0, 30)
		last.TotalBudget = decimal.RequireFromString("300000000.00")
		ps = append(ps, last)
	}
	var err error
	if g.programmes, err = g.db.InsertSyntheticProgrammes(ctx, ps); err != nil {
		return fmt.Errorf("seed: programmes: %w", err)
	}
	rep.Programmes = g.programmes

	hash, err := auth.HashPassword(DemoPassword, g.o.PasswordParams)
	if err != nil {
		return err
	}
	if g.staff, err = g.db.ListStaffMembers(ctx); err != nil {
		return err
	}
	var users []postgres.SyntheticUser
	if len(g.staff) == 0 {
		ids, err := g.db.ReserveIDs(ctx, postgres.SeqUsers, 3)
		if err != nil {
			return err
		}
		for i, id := range ids {
			name := pick(g.rng, surnames) + pick(g.rng, givenNames)
			users = append(users, postgres.SyntheticUser{ID: id, Username: fmt.Sprintf("synstaff%d", i+1),
				DisplayName: name, Role: applications.RoleStaff, PasswordHash: hash, CreatedAt: g.now})
			g.staff = append(g.staff, postgres.StaffMember{ID: id, Name: name})
		}
	}

	ne := max(1, (g.o.N+2)/3)
	entIDs, err := g.db.ReserveIDs(ctx, postgres.SeqEnterprises, ne)
	if err != nil {
		return err
	}
	userIDs, err := g.db.ReserveIDs(ctx, postgres.SeqUsers, ne)
	if err != nil {
		return err
	}
	// Codes and usernames follow the reserved enterprise id, so two runs
	// never collide; the rare clash with a registered enterprise moves to
	// another seed.
	codes := make([]string, ne)
	usernames := make([]string, ne)
	for i, id := range entIDs {
		codes[i] = applications.ExampleUSCC(10_000_000 + int(id))
		usernames[i] = fmt.Sprintf("%s%07d", SyntheticPrefix, id)
	}
	for attempt := 1; ; attempt++ {
		taken, err := g.db.TakenNames(ctx, codes, usernames)
		if err != nil {
			return err
		}
		if len(taken) == 0 {
			break
		}
		if attempt == 5 {
			return fmt.Errorf("seed: %d synthetic 信用代码 or usernames already taken", len(taken))
		}
		for i, id := range entIDs {
			if taken[codes[i]] {
				codes[i] = applications.ExampleUSCC(10_000_000 + attempt*20_000_000 + int(id))
			}
			if taken[usernames[i]] {
				usernames[i] = fmt.Sprintf("%s%07d-%d", SyntheticPrefix, id, attempt)
			}
		}
	}
	es := make([]postgres.SyntheticEnterprise, ne)
	g.ents = make([]synthEnterprise, ne)
	sectors := applications.AllSectors()
	for i := range ne {
		sector := sectors[i%len(sectors)]
		p := g.enterpriseProfile(sector, codes[i])
		created := g.now.AddDate(0, 0, -400-g.rng.IntN(400))
		es[i] = postgres.SyntheticEnterprise{ID: entIDs[i], Profile: p, CreatedAt: created}
		users = append(users, postgres.SyntheticUser{ID: userIDs[i], Username: usernames[i], DisplayName: p.ContactName,
			Role: applications.RoleEnterprise, PasswordHash: hash, EnterpriseID: entIDs[i], CreatedAt: created})
		g.ents[i] = synthEnterprise{id: entIDs[i], name: p.Name, uscc: p.USCC, sector: sector, userID: userIDs[i], user: p.ContactName}
	}
	if err := g.db.InsertSyntheticEnterprises(ctx, es, users); err != nil {
		return fmt.Errorf("seed: enterprises: %w", err)
	}
	rep.Enterprises, rep.Users, rep.SampleUsername = ne, len(users), usernames[0]
	return nil
}

func (g *generator) enterpriseProfile(sector applications.Sector, uscc string) applications.EnterpriseProfile {
	r := g.rng
	name := pick(r, regions) + pick(r, brandWords) + pick(r, brandWords2) + pick(r, sectorSuffix[sector]) + pick(r, companyForms)
	return applications.EnterpriseProfile{
		Name: name, USCC: uscc, LegalRep: personName(r),
		RegisteredCapital: decimal.NewFromInt(int64(100+r.IntN(4900)) * 10_000),
		FoundedOn:         time.Date(2005+r.IntN(20), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC),
		Address:           "呼和浩特经济技术开发区" + pick(r, roads) + strconv.Itoa(1+r.IntN(300)) + "号",
		ContactName:       personName(r), ContactMobile: mobile(r),
	}
}

// paths are the histories an application can have, with their weights
// (percent). Each is checked against the state machine as it is replayed.
var paths = []struct {
	weight int
	states []applications.State
}{
	{30, []applications.State{draft}},
	{15, []applications.State{draft, submitted}},
	{5, []applications.State{draft, submitted, returned, submitted}},
	{12, []applications.State{draft, submitted, returned}},
	{16, []applications.State{draft, submitted, underReview}},
	{7, []applications.State{draft, submitted, returned, submitted, underReview}},
	{5, []applications.State{draft, submitted, rejected}},
	{5, []applications.State{draft, withdrawn}},
	{5, []applications.State{draft, submitted, returned, withdrawn}},
}

const (
	draft       = applications.StateDraft
	submitted   = applications.StateSubmitted
	returned    = applications.StateReturned
	underReview = applications.StateUnderReview
	rejected    = applications.StateRejected
	withdrawn   = applications.StateWithdrawn
)

func (g *generator) pickPath() []applications.State {
	n := g.rng.IntN(100)
	for _, p := range paths {
		if n < p.weight {
			return p.states
		}
		n -= p.weight
	}
	return paths[0].states
}

// pending is a document whose blob is still to be stored.
type pending struct {
	doc     *applications.Document
	content []byte
}

// batch generates n applications starting at index from, stores their
// blobs and writes their rows. It returns the documents and blob bytes
// written.
func (g *generator) batch(ctx context.Context, from, n int, rep *SyntheticReport) (int, int64, error) {
	appIDs, err := g.db.ReserveIDs(ctx, postgres.SeqApplications, n)
	if err != nil {
		return 0, 0, err
	}
	apps := make([]postgres.SyntheticApplication, n)
	var files []pending
	for i := range n {
		apps[i], err = g.application(from+i, appIDs[i])
		if err != nil {
			return 0, 0, err
		}
	}
	if g.o.NoDocuments {
		for i := range apps {
			apps[i].Documents, apps[i].Reviews = nil, nil
		}
	} else {
		total := 0
		for _, a := range apps {
			total += len(a.Documents)
		}
		docIDs, err := g.db.ReserveIDs(ctx, postgres.SeqDocuments, total)
		if err != nil {
			return 0, 0, err
		}
		k := 0
		for i := range apps {
			a := &apps[i]
			byTemp := map[int64]int64{}
			for j := range a.Documents {
				d := &a.Documents[j]
				byTemp[d.ID] = docIDs[k]
				d.ID = docIDs[k]
				k++
				if err := g.fillDocument(a, d); err != nil {
					return 0, 0, err
				}
				files = append(files, pending{doc: d, content: g.fileFor(a, d)})
			}
			for j := range a.Reviews {
				a.Reviews[j].DocumentID = byTemp[a.Reviews[j].DocumentID]
			}
		}
	}
	var stored int64
	if len(files) > 0 {
		if stored, err = g.store(ctx, files); err != nil {
			return 0, 0, err
		}
	}
	if err := g.db.InsertSyntheticApplications(ctx, apps); err != nil {
		// The rows did not commit: their blobs must not outlive them.
		for _, f := range files {
			_ = g.o.Blobs.Delete(context.WithoutCancel(ctx), f.doc.BlobKey)
		}
		return 0, 0, fmt.Errorf("seed: applications: %w", err)
	}
	for _, a := range apps {
		rep.States[a.App.State]++
	}
	return len(files), stored, nil
}

// store ingests the files with o.Workers writers and fills in each
// document's metadata. On failure the blobs already stored are deleted.
func (g *generator) store(ctx context.Context, files []pending) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *pending)
	var mu sync.Mutex
	var firstErr error
	var total int64
	var wg sync.WaitGroup
	for range g.o.Workers {
		wg.Go(func() {
			for f := range jobs {
				d := f.doc
				key := blob.NewKey("docs", d.UploadedAt)
				m, err := blob.Ingest(ctx, g.o.Blobs, key, bytes.NewReader(f.content), blob.IngestOptions{
					Encrypt: d.Item.Sensitive(), MasterKey: g.o.MasterKey, Suite: g.o.Crypto})
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("seed: store %s of application %d: %w", d.Item, d.ApplicationID, err)
						cancel()
					}
				} else {
					d.BlobKey, d.Kind, d.Size, d.SHA256 = key, m.Kind, m.Size, m.SHA256
					d.Encrypted, d.EncAlg, d.WrappedKey = m.Encrypted, m.Algorithm, m.WrappedKey
					total += m.Size
				}
				mu.Unlock()
			}
		})
	}
	for i := range files {
		select {
		case jobs <- &files[i]:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		for _, f := range files {
			if f.doc.BlobKey != "" {
				_ = g.o.Blobs.Delete(context.WithoutCancel(ctx), f.doc.BlobKey)
			}
		}
		return 0, firstErr
	}
	return total, nil
}

// application replays one history. Document IDs are temporary (1, 2, …)
// until batch assigns reserved ones; reviews refer to them.
func (g *generator) application(i int, id int64) (postgres.SyntheticApplication, error) {
	r := g.rng
	ent := g.ents[i%len(g.ents)]
	if i >= len(g.ents) {
		ent = g.ents[r.IntN(len(g.ents))]
	}
	prog := g.programmes[0]
	if len(g.programmes) > 1 && r.IntN(5) == 0 {
		prog = g.programmes[1]
	}
	sector := ent.sector
	if r.IntN(4) == 0 {
		sector = pick(r, applications.AllSectors())
	}
	path := g.pickPath()

	// Times: created inside the window, the steps after it, all before now.
	windowStart := prog.OpensOn.Add(8 * time.Hour)
	windowEnd := minTime(prog.ClosesOn.Add(20*time.Hour), g.now.Add(-time.Hour))
	created := windowStart.Add(time.Duration(r.Int64N(int64(windowEnd.Sub(windowStart)))))
	times := []time.Time{created}
	for range path[1:] {
		times = append(times, times[len(times)-1].Add(time.Duration(2+r.IntN(240))*time.Hour))
	}
	if last := times[len(times)-1]; last.After(g.now) {
		span := float64(g.now.Add(-time.Minute).Sub(created)) / float64(last.Sub(created))
		for k := range times {
			times[k] = created.Add(time.Duration(float64(times[k].Sub(created)) * span))
		}
	}

	amount := decimal.NewFromInt(int64(50+r.IntN(951))*10_000 + int64(r.IntN(100))*100)
	if r.IntN(3) == 0 {
		amount = amount.Add(decimal.New(int64(r.IntN(10000)), -2))
	}
	amount = decimal.Min(amount, prog.ProjectCap)
	product := pick(r, products[sector])
	a := applications.Application{
		ID: id, ProgrammeID: prog.ID, EnterpriseID: ent.id, Title: fmt.Sprintf(pick(r, titleForms), product),
		Sector: sector, RequestedAmount: amount, LeadName: personName(r), LeadMobile: mobile(r),
		Content: content(r, ent.name, product, amount, created), CreatedAt: created,
	}
	if err := a.ValidateDraft(prog); err != nil {
		return postgres.SyntheticApplication{}, fmt.Errorf("seed: generated application %d is invalid: %w", i, err)
	}
	s := postgres.SyntheticApplication{CreatedBy: ent.userID}
	entActor := func(t time.Time, from, to applications.State, reason string) postgres.SyntheticTransition {
		return postgres.SyntheticTransition{From: from, To: to, ActorID: ent.userID, ActorName: ent.user,
			ActorRole: applications.RoleEnterprise, Reason: reason, At: t}
	}
	liaison := g.staff[r.IntN(len(g.staff))]
	if path[len(path)-1] != draft || r.IntN(5) == 0 {
		a.LiaisonID = liaison.ID
	}
	staffActor := func(t time.Time, from, to applications.State, reason string) postgres.SyntheticTransition {
		return postgres.SyntheticTransition{From: from, To: to, ActorID: liaison.ID, ActorName: liaison.Name,
			ActorRole: applications.RoleStaff, Reason: reason, At: t}
	}

	var docs []applications.Document
	current := map[applications.Material]int{} // index into docs of the newest version
	upload := func(m applications.Material, after, before time.Time, filename string) {
		at := after
		if before.After(after) {
			at = after.Add(time.Duration(r.Int64N(int64(before.Sub(after)))))
		}
		v := 1
		if k, ok := current[m]; ok {
			v = docs[k].Version + 1
		}
		docs = append(docs, applications.Document{ID: int64(len(docs) + 1), ApplicationID: id, Item: m, Version: v,
			Filename: filename, UploadedBy: ent.userID, UploadedByName: ent.user, UploadedAt: at})
		current[m] = len(docs) - 1
	}
	reviews := map[applications.Material]postgres.SyntheticReview{}
	verdict := func(m applications.Material, accepted bool, reason string, after, before time.Time) {
		at := after
		if before.After(after) {
			at = after.Add(time.Duration(r.Int64N(int64(before.Sub(after)))))
		}
		reviews[m] = postgres.SyntheticReview{Item: m, DocumentID: docs[current[m]].ID, Accepted: accepted,
			Reason: reason, ReviewerID: liaison.ID, At: at}
	}

	required := prog.RequiredMaterials
	s.Transitions = append(s.Transitions, entActor(created, "", draft, "创建申报草稿"))
	state := draft
	var lastSubmit time.Time
	for k := 1; k <= len(path); k++ {
		// What happens in the state before moving on (or until now).
		end := g.now
		if k < len(path) {
			end = times[k]
		}
		began := times[k-1]
		switch state {
		case draft:
			if k == len(path) || path[k] == withdrawn {
				// Still being prepared: some of the materials.
				for _, m := range required[:r.IntN(len(required)+1)] {
					upload(m, began, end, fileName(m, 1))
				}
			} else {
				for _, m := range required {
					upload(m, began, end, fileName(m, 1))
				}
				if r.IntN(3) == 0 {
					upload(applications.MaterialFinancialStatements, began, end, fileName(applications.MaterialFinancialStatements, 1))
				}
			}
			if k == len(path) && r.IntN(5) == 0 {
				a.PrecheckAsked = began.Add(time.Duration(r.Int64N(int64(max(end.Sub(began), time.Minute)))))
			}
		case submitted:
			switch {
			case k < len(path) && path[k] == returned:
				// Staff judge every item and return one or two.
				back := map[applications.Material]bool{}
				for range 1 + r.IntN(2) {
					back[required[r.IntN(len(required))]] = true
				}
				for _, m := range required {
					if back[m] {
						verdict(m, false, pick(r, returnReasons[m.Field()]), began, end)
					} else {
						verdict(m, true, "", began, end)
					}
				}
			case k < len(path) && path[k] == underReview:
				for _, m := range required {
					verdict(m, true, "", began, end)
				}
			case k == len(path) && r.IntN(3) == 0:
				// Formal review under way: some items judged.
				for _, m := range required[:r.IntN(len(required))] {
					verdict(m, true, "", began, end)
				}
			}
		case returned:
			if k < len(path) && path[k] == submitted {
				for _, m := range required {
					if rv, ok := reviews[m]; ok && !rv.Accepted {
						upload(m, began, end, fileName(m, 2))
					}
				}
			}
		}
		if k == len(path) {
			break
		}
		to, t := path[k], times[k]
		if err := applications.Transition(state, to); err != nil {
			return s, fmt.Errorf("seed: path %v: %w", path, err)
		}
		switch to {
		case submitted:
			s.Transitions = append(s.Transitions, entActor(t, state, to, "企业提交申报"))
			lastSubmit = t
			a.PrecheckAsked = time.Time{}
		case returned:
			s.Transitions = append(s.Transitions, staffActor(t, state, to, "形式审查：材料退回补正"))
		case underReview:
			s.Transitions = append(s.Transitions, staffActor(t, state, to, "形式审查通过"))
		case rejected:
			s.Transitions = append(s.Transitions, staffActor(t, state, to, pick(r, rejectReasons)))
		case withdrawn:
			s.Transitions = append(s.Transitions, entActor(t, state, to, "企业主动撤回"))
		}
		state = to
	}
	a.State = state
	a.StateChangedAt = s.Transitions[len(s.Transitions)-1].At
	a.SubmittedAt = lastSubmit
	a.Version = len(s.Transitions)
	a.UpdatedAt = a.StateChangedAt
	for _, d := range docs {
		if d.UploadedAt.After(a.UpdatedAt) {
			a.UpdatedAt = d.UploadedAt
		}
	}
	s.App = a
	s.Documents = docs
	for _, m := range prog.Checklist() {
		if rv, ok := reviews[m]; ok {
			s.Reviews = append(s.Reviews, rv)
		}
	}
	return s, nil
}

// fillDocument sets the structured value an item carries.
func (g *generator) fillDocument(a *postgres.SyntheticApplication, d *applications.Document) error {
	r := g.rng
	switch d.Item.Field() {
	case applications.FieldUSCCOnItem:
		d.USCC = g.uscc(a.App.EnterpriseID)
	case applications.FieldIDOnItem:
		birth := time.Date(1962+r.IntN(35), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
		id := applications.ExampleIDNumber(r.IntN(6993), birth)
		sealed, err := blob.SealValue(g.o.Crypto, g.o.MasterKey, []byte(id))
		if err != nil {
			return err
		}
		d.IDMasked, d.IDCipher = applications.MaskIDNumber(id), sealed
	case applications.FieldIssueOnItem:
		d.IssueDate = day.Of(d.UploadedAt).AddDate(0, 0, -1-r.IntN(60))
	}
	return nil
}

// fileFor generates the file of a document: a PNG for ID copies, a PDF
// for everything else.
func (g *generator) fileFor(a *postgres.SyntheticApplication, d *applications.Document) []byte {
	if d.Item.Field() == applications.FieldIDOnItem {
		return syntheticPNG(g.rng)
	}
	return syntheticPDF([]string{
		"ITE synthetic document - generated test data, not a real record",
		fmt.Sprintf("Application %d, item %s, version %d", a.App.ID, d.Item, d.Version),
		"Enterprise " + g.uscc(a.App.EnterpriseID) + ", amount " + a.App.RequestedAmount.StringFixed(2) + " CNY",
		"Uploaded " + d.UploadedAt.Format(time.RFC3339),
		fmt.Sprintf("Reference %016x", g.rng.Uint64()),
	})
}

func (g *generator) uscc(enterpriseID int64) string {
	// Enterprises get consecutive reserved ids in the common case, so
	// look there first.
	if k := int(enterpriseID - g.ents[0].id); k >= 0 && k < len(g.ents) && g.ents[k].id == enterpriseID {
		return g.ents[k].uscc
	}
	for _, e := range g.ents {
		if e.id == enterpriseID {
			return e.uscc
		}
	}
	return ""
}

func fileName(m applications.Material, version int) string {
	ext := ".pdf"
	if m.Field() == applications.FieldIDOnItem {
		ext = ".png"
	}
	if version > 1 {
		return m.Label() + "（补正）" + ext
	}
	return m.Label() + ext
}

// content writes the structured body: four sections, a budget whose
// lines sum exactly to the amount, and milestones.
func content(r *rand.Rand, company, product string, amount decimal.Decimal, created time.Time) applications.Content {
	c := applications.Content{
		Summary: fmt.Sprintf("%s拟在经开区开展%s项目，面向%s需求，计划在两年内完成从中试到规模化生产的全过程，形成年产值约%d万元的生产能力。",
			company, product, pick(r, markets), 2000+r.IntN(18000)),
		Technology: fmt.Sprintf("项目核心技术为%s，已申请发明专利%d项、授权实用新型专利%d项，关键指标达到%s水平。",
			pick(r, techPhrases), 1+r.IntN(8), r.IntN(15), pick(r, []string{"国内领先", "国际先进", "国内先进"})),
		Team: fmt.Sprintf("项目团队%d人，其中博士%d人、硕士%d人，负责人具有%d年相关领域研发和产业化经验。",
			8+r.IntN(40), r.IntN(6), 2+r.IntN(12), 5+r.IntN(20)),
		Market: fmt.Sprintf("目标客户为%s，已与%d家企业签订意向合作协议，预计投产第三年实现销售收入%d万元。",
			pick(r, markets), 1+r.IntN(9), 3000+r.IntN(30000)),
	}
	// Split the amount (in fen) into 3–5 lines that add up exactly.
	fen := amount.Shift(2).IntPart()
	lines := 3 + r.IntN(3)
	items := r.Perm(len(budgetItems))[:lines]
	rest := fen
	for k, it := range items {
		share := rest
		if k < lines-1 {
			share = rest * int64(20+r.IntN(30)) / 100
			share -= share % 100 // whole yuan, like people budget
		}
		if share <= 0 {
			share = 1
		}
		rest -= share
		c.Budget = append(c.Budget, applications.BudgetLine{Item: budgetItems[it], Amount: decimal.New(share, -2)})
	}
	ms := milestoneTexts[:2+r.IntN(len(milestoneTexts)-1)]
	d := created
	for _, m := range ms {
		d = d.AddDate(0, 3+r.IntN(6), 0)
		c.Milestones = append(c.Milestones, applications.Milestone{Date: d.Format(time.DateOnly), Description: m})
	}
	return c
}

func personName(r *rand.Rand) string {
	if r.IntN(8) == 0 {
		return pick(r, mongolianNames)
	}
	return pick(r, surnames) + pick(r, givenNames)
}

func mobile(r *rand.Rand) string {
	return pick(r, []string{"13", "15", "17", "18", "19"}) + fmt.Sprintf("%09d", r.IntN(1_000_000_000))
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
