package console

import (
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/driverhub/driverhub"
)

// fileFunc receives a file part as it arrives, with the fields that came
// before it. It streams body to its service; nothing holds the file whole.
type fileFunc func(values url.Values, field, filename string, body io.Reader) error

const (
	// maxUploadBody bounds a form with a package and a config file; each
	// upload has its own, smaller limit in the services.
	maxUploadBody = driverhub.MaxPackageBytes + driverhub.MaxConfigFileBytes + 4<<20
	maxFieldBytes = 64 << 10
	maxFields     = 4000
)

// readMultipart reads a multipart form part by part. The first part must
// be the CSRF token (every form puts it first), so nothing is done for a
// forged request. File parts go to onFile as they arrive; after an error
// the remaining files are skipped but the remaining fields are still read,
// so that the form can come back with every value the user entered.
func (c *Console) readMultipart(w http.ResponseWriter, r *http.Request, s *session, onFile fileFunc) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, driverhub.Invalid("", "the form must be sent as multipart/form-data: %v", err)
	}
	values := url.Values{}
	checked := false
	var first error
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return values, bodyError(err)
		}
		name := part.FormName()
		if !checked {
			v, err := readField(part)
			if name != "csrf" || err != nil || !s.validCSRF(v) {
				return values, errCSRF
			}
			checked = true
			continue
		}
		if part.FileName() != "" {
			if first == nil && onFile != nil {
				first = onFile(values, name, part.FileName(), part)
			}
			if _, err := io.Copy(io.Discard, part); err != nil {
				return values, errors.Join(first, bodyError(err))
			}
			continue
		}
		if n > maxFields {
			return values, driverhub.Invalid("", "the form has more than %d fields", maxFields)
		}
		v, err := readField(part)
		if err != nil {
			return values, err
		}
		values.Add(name, v)
	}
	if !checked {
		return values, errCSRF
	}
	return values, first
}

func readField(part io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
	if err != nil {
		return "", bodyError(err)
	}
	if len(b) > maxFieldBytes {
		return "", driverhub.Invalid("", "a form field is longer than %d bytes", maxFieldBytes)
	}
	return string(b), nil
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &driverhub.Error{Code: driverhub.ETooLarge, Message: "the form is larger than the uploads it may carry"}
	}
	return driverhub.Invalid("", "the form could not be read: %v", err)
}
