package driverhub

// Every validation reports all it finds at once (SPEC §8: a 400 names every
// bad field): each input type has a Check that returns one *Error per
// field at fault, and a service turns them into one Error with Problems.

// FieldErrors gathers the problems of one input, an *Error per field.
type FieldErrors []*Error

// Add appends each err that is a problem; validators return only *Error,
// anything else is kept as an internal error.
func (l *FieldErrors) Add(errs ...error) {
	for _, err := range errs {
		if err == nil {
			continue
		}
		e, ok := AsError(err)
		switch {
		case !ok:
			e = &Error{Code: EInternal, Message: err.Error()}
		case e == nil: // a nil *Error in an error interface
			continue
		}
		*l = append(*l, e)
	}
}

// Append adds the problems of a Check.
func (l *FieldErrors) Append(errs FieldErrors) {
	for _, e := range errs {
		if e != nil {
			*l = append(*l, e)
		}
	}
}

// AppendNew adds the problems of a Check whose field has none yet: a field
// reported missing is not also reported malformed.
func (l *FieldErrors) AppendNew(errs FieldErrors) {
	for _, e := range errs {
		if e != nil && !l.has(e.Field) {
			*l = append(*l, e)
		}
	}
}

func (l FieldErrors) has(field string) bool {
	for _, e := range l {
		if e.Field == field {
			return true
		}
	}
	return false
}

// Err is nil without problems; otherwise one Error listing every problem
// (see JoinProblems).
func (l FieldErrors) Err() error {
	if len(l) == 0 {
		return nil
	}
	ps := make([]Problem, len(l))
	for i, e := range l {
		ps[i] = e.Problem("")
	}
	return JoinProblems(ps)
}

// JoinProblems is nil without problems; otherwise the first problem as an
// Error (its code, field and message, so that a client reading one field
// still works) carrying every problem in Problems. Its code is that of the
// problems when they share it, invalid_argument when they differ.
func JoinProblems(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	first := ps[0]
	e := &Error{Code: string(first.Code), Field: first.Field, Message: first.Message,
		Format: first.Format, Args: first.Args, Problems: ps}
	for _, p := range ps {
		if p.Code != first.Code {
			e.Code = EInvalid
		}
	}
	return e
}

// firstProblem is the first of errs as an error, or nil: what the
// one-problem Validate methods return.
func firstProblem(errs FieldErrors) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}
