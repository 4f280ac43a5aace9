package server

import (
	"context"
	"net/http"

	"ite/internal/applications"
	"ite/internal/auth"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/web/page"
)

// minutesRoutes: the committee minutes (决策联席会/管委会纪要) a pending
// decision, exit or ending carries when it needs the committee (DOMAIN §8):
// a cap override, a loss beyond the tolerance (§16).
func (s *Server) minutesRoutes() []route {
	return []route{
		{"POST", "/decisions/{id}/minutes", can(applications.ActionAttachMinutes), s.handleMinutesAttach(postgres.RecordDecision)},
		{"POST", "/exits/{id}/minutes", can(applications.ActionAttachMinutes), s.handleMinutesAttach(postgres.RecordExit)},
		{"POST", "/endings/{id}/minutes", can(applications.ActionAttachMinutes), s.handleMinutesAttach(postgres.RecordEnding)},
	}
}

// handleMinutesAttach records the minutes of the route's record
// (POST /decisions/{id}/minutes, /exits/{id}/minutes, /endings/{id}/minutes)
// and goes back to the page the approver approves it on.
func (s *Server) handleMinutesAttach(recordType string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var appID int64
		if recordType == postgres.RecordDecision {
			appID, err = s.DB.DecisionApplication(r.Context(), id)
		} else {
			appID, err = s.DB.ProposalApplication(r.Context(), recordType+"s", id)
		}
		if err != nil {
			return err
		}
		back, refuse := applicationPath(appID, "#decisions"), s.refuse
		if recordType != postgres.RecordDecision {
			back, refuse = applicationPath(appID, "/equity"), s.equityRefuse
		}
		form, file, drop, err := s.formWithEvidence(w, r)
		if err != nil {
			return refuse(w, r, appID, err)
		}
		m := applications.CommitteeMinutes{Number: form.Get("minutes_number")}
		if d, err := day.Parse(form.Get("minutes_date")); err == nil {
			m.HeldOn = d
		}
		if err := s.DB.AttachMinutes(r.Context(), actor(r), recordType, id, m, file); err != nil {
			drop()
			return refuse(w, r, appID, err)
		}
		return s.redirectWithFlash(w, r, back, "已登记会议纪要。")
	}
}

// equityOversight loads the committee minutes and loss checks of a
// project's exits and endings for its equity page. (The application page
// has its decisions' minutes and the admission in its activity batch,
// reviewPart.)
func (s *Server) equityOversight(ctx context.Context, u *auth.User, a applications.Application) (page.Oversight, error) {
	o := page.Oversight{CanAttach: u.Role.Can(applications.ActionAttachMinutes)}
	if !oversightShown(u) {
		return o, nil
	}
	var err error
	if o.Minutes, err = s.DB.ListMinutes(ctx, a.ID); err != nil {
		return o, err
	}
	o.LossChecks, err = s.DB.ListLossChecks(ctx, a.ID)
	return o, err
}

// oversightShown says whether u is shown the oversight records (minutes,
// loss checks, staff's admission). Not a permission: the enterprise is
// shown none of them (they are the bureau's deliberations).
func oversightShown(u *auth.User) bool { return u.Role != enterprise }
