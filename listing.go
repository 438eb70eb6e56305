package driverhub

// Check returns a problem for each field of a listing that is wrong: a
// title of one line and a summary that may span lines, both shown to every
// tenant.
func (in ListingInput) Check() FieldErrors {
	var l FieldErrors
	if in.Title == "" || len(in.Title) > MaxListingTitleBytes {
		l.Add(Invalid("title", "must be 1-%d bytes", MaxListingTitleBytes))
	} else {
		l.Add(checkText("title", in.Title, textKindLine))
	}
	if len(in.Summary) > MaxListingSummaryBytes {
		l.Add(Invalid("summary", "must be at most %d bytes", MaxListingSummaryBytes))
	} else {
		l.Add(checkText("summary", in.Summary, textKindBlock))
	}
	return l
}
