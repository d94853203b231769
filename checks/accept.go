package checks

import "slices"

// AcceptedNote ends the summary of a finding the user accepted.
const AcceptedNote = " (accepted by the profile)"

// accept reports the findings whose codes the user accepted (a profile's
// ignore) as info, with a note, rather than dropping them: the ticket
// still shows what was seen, and the status no longer counts it.
func accept(o Outcome, codes []string) Outcome {
	if len(codes) == 0 {
		return o
	}
	fs := make([]Finding, len(o.Findings))
	for i, f := range o.Findings {
		if slices.Contains(codes, f.Code) {
			f.Downgrade = SevInfo
			f.Summary += AcceptedNote
		}
		fs[i] = f
	}
	o.Findings = fs
	return o
}
