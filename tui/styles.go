package tui

import (
	"image/color"

	"charm.land/lipgloss/v2"

	"certgov/model"
)

// Styles are every style the dashboard uses, built for a light or a dark
// background. Colour is never the only carrier of meaning: severities are
// spelled out and expiry is written as text.
type Styles struct {
	Title, Tab, ActiveTab, Header, Selected, Dim, Error, Status, Bar, BarExpired, BarThisWeek, Label lipgloss.Style
	severity                                                                                         map[model.Severity]lipgloss.Style
	expired, soon, later                                                                             lipgloss.Style
}

func newStyles(isDark bool) Styles {
	c := lipgloss.LightDark(isDark)
	accent := c(lipgloss.Color("#5A3FC0"), lipgloss.Color("#A78BFA"))
	dim := c(lipgloss.Color("#6B7280"), lipgloss.Color("#9CA3AF"))
	red := c(lipgloss.Color("#B91C1C"), lipgloss.Color("#F87171"))
	orange := c(lipgloss.Color("#B45309"), lipgloss.Color("#FBBF24"))
	yellow := c(lipgloss.Color("#854D0E"), lipgloss.Color("#FDE68A"))
	green := c(lipgloss.Color("#15803D"), lipgloss.Color("#86EFAC"))
	fg := func(col color.Color) lipgloss.Style { return lipgloss.NewStyle().Foreground(col) }
	return Styles{
		Title:       lipgloss.NewStyle().Bold(true).Foreground(accent),
		Tab:         fg(dim).Padding(0, 1),
		ActiveTab:   lipgloss.NewStyle().Bold(true).Reverse(true).Padding(0, 1),
		Header:      lipgloss.NewStyle().Bold(true).Underline(true),
		Selected:    lipgloss.NewStyle().Reverse(true),
		Dim:         fg(dim),
		Error:       fg(red).Bold(true),
		Status:      fg(dim),
		Label:       lipgloss.NewStyle().Bold(true),
		Bar:         fg(accent),
		BarExpired:  fg(red),
		BarThisWeek: fg(orange),
		severity: map[model.Severity]lipgloss.Style{
			model.SeverityCritical: fg(red).Bold(true),
			model.SeverityHigh:     fg(orange),
			model.SeverityMedium:   fg(yellow),
			model.SeverityLow:      fg(dim),
		},
		expired: fg(red).Bold(true),
		soon:    fg(orange),
		later:   fg(green),
	}
}

func (s Styles) Severity(sev model.Severity) lipgloss.Style { return s.severity[sev] }
