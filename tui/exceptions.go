package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"certgov/model"
)

// exceptionsScreen is the queue of self-signed certificates trusted by
// registration without an approved exception, riskiest first: expired,
// then weak, then the most widely trusted.
type exceptionsScreen struct {
	ds    *Dataset
	queue []int // indexes into ds.Rows
	listNav
}

func pending(r *Row, now time.Time) bool {
	return r.selfSigned && !r.exception.ActiveAt(now) && r.trustedExplicitly()
}

func (s *exceptionsScreen) setData(ds *Dataset, now time.Time) {
	s.ds = ds
	s.queue = s.queue[:0]
	for i := range ds.Rows {
		if pending(&ds.Rows[i], now) {
			s.queue = append(s.queue, i)
		}
	}
	risk := func(r *Row) (int, int) {
		rank := 2
		switch {
		case r.ExpiredAt(now):
			rank = 0
		case slicesContains(r.findings, model.FindingWeakKey) || slicesContains(r.findings, model.FindingWeakSignature):
			rank = 1
		}
		return rank, -len(r.Trust())
	}
	sort.SliceStable(s.queue, func(i, j int) bool {
		ri, ti := risk(&ds.Rows[s.queue[i]])
		rj, tj := risk(&ds.Rows[s.queue[j]])
		if ri != rj {
			return ri < rj
		}
		return ti < tj
	})
	s.clamp(len(s.queue))
}

func slicesContains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *exceptionsScreen) selected() *Row {
	if s.ds == nil || s.cursor >= len(s.queue) {
		return nil
	}
	return &s.ds.Rows[s.queue[s.cursor]]
}

func (s *exceptionsScreen) update(msg tea.KeyPressMsg, k KeyMap, page int) (*Row, bool) {
	if key.Matches(msg, k.Open) {
		return s.selected(), s.selected() != nil
	}
	// page is the body height less two; the table shows page-1 rows.
	s.move(msg, k, len(s.queue), page, page-1)
	return nil, false
}

func (s *exceptionsScreen) view(st Styles, width, height int, now time.Time) string {
	var b strings.Builder
	b.WriteString(st.Label.Render(fmt.Sprintf("Self-signed certificates awaiting a decision (%d), riskiest first", len(s.queue))) +
		st.Dim.Render("  · a approve · x reject · enter opens") + "\n")
	b.WriteString(st.Header.Render(fmt.Sprintf("  %s  %-10s  %-12s  %-7s  %s", pad("IDENTITY", 34), "EXPIRES", "KEY", "TRUSTED", "DECISION")) + "\n")
	rows := max(1, height-3)
	offset := scrolled(s.cursor, s.offset, rows) // the view only reads
	if len(s.queue) == 0 {
		b.WriteString(st.Dim.Render("  nothing waits: every explicitly trusted self-signed certificate has an approved exception") + "\n")
	}
	for i := offset; i < len(s.queue) && i < offset+rows; i++ {
		r := s.ds.Rows[s.queue[i]].record()
		decision := "pending"
		switch {
		case r.Exception.ExpiredAt(now):
			decision = "approval ended " + r.Exception.Until.Format("2006-01-02")
		case r.Exception != nil && r.Exception.State == model.ExceptionRejected:
			decision = "rejected, still trusted"
		}
		line := fmt.Sprintf("%s  %s  %-12s  %-7d  %s", pad(r.IdentityName, 34), expiryStyle(st, r.NotAfter, now).Render(pad(model.Relative(r.NotAfter, now), 10)), r.KeyLabel(), len(r.Trust), decision)
		if i == s.cursor {
			b.WriteString(st.Selected.Render("▶ "+ansiStrip(line)) + "\n")
		} else {
			b.WriteString("  " + line + "\n")
		}
	}
	return b.String()
}
