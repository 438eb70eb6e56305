package driverhub_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driverhub/driverhub"
)

// TestMessageArgsRoundTrip: arguments stored and read back keep their Go
// types (what the console translates by), integers come back as int, and
// anything else as its text, so that the message reads as it did.
func TestMessageArgsRoundTrip(t *testing.T) {
	reason := driverhub.Messagef("wave %d: %d of %d targets failed", 1, 2, 10)
	args := []any{"gw1", "", "名称 \"q\"", 7, -3, driverhub.Word("wave"), driverhub.RuntimePython3, driverhub.RoleDeveloper,
		driverhub.StageVerify, driverhub.DriverCrashloop, driverhub.ResourceDriver, driverhub.DeployTypeDeploy,
		driverhub.DeploySucceeded, driverhub.UploadConfigFile, driverhub.RolloutAborted, driverhub.TargetSkipped,
		driverhub.WaveFailed, driverhub.OnAbortStop, driverhub.EventAborted, driverhub.ProblemNotBound,
		driverhub.Messagef("aborted: %s", reason)}
	want := append([]any{}, args...)
	// Integers of other sizes come back as int; other types as their text.
	args = append(args, int64(1)<<40, uint8(200), int32('x'), 30*time.Minute, []string{"a", "b"}, true, 2.5, nil)
	want = append(want, 1<<40, 200, int('x'), "30m0s", "[a b]", "true", "2.5", "<nil>")

	stored, err := driverhub.MarshalMessageArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	got, err := driverhub.UnmarshalMessageArgs(stored)
	if err != nil {
		t.Fatalf("reading %s: %v", stored, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s\nstored: %s", diff, stored)
	}
	format := strings.Repeat("%v|", len(args))
	if en, back := fmt.Sprintf(format, args...), fmt.Sprintf(format, got...); en != back {
		t.Errorf("the message reads\n%s\nonce stored, want\n%s", back, en)
	}
	for _, none := range [][]any{nil, {}} {
		b, err := driverhub.MarshalMessageArgs(none)
		if err != nil || string(b) != "[]" {
			t.Errorf("MarshalMessageArgs(%#v) = %s, %v; want []", none, b, err)
		}
	}
}

// TestMessageArgsDepth: a message nested deeper than the store keeps is
// stored as its English text, not lost.
func TestMessageArgsDepth(t *testing.T) {
	m := driverhub.Messagef("%d", 1)
	for range 10 {
		m = driverhub.Messagef("(%s)", m)
	}
	b, err := driverhub.MarshalMessageArgs([]any{m})
	if err != nil {
		t.Fatal(err)
	}
	got, err := driverhub.UnmarshalMessageArgs(b)
	if err != nil || len(got) != 1 {
		t.Fatalf("read %v, %v", got, err)
	}
	if s := fmt.Sprint(got[0]); s != m.String() {
		t.Errorf("a deep message reads %q, want %q", s, m.String())
	}
}

// TestUnmarshalMessageArgs reads stored arguments as written, by this
// version or another: a kind it does not know reads as its value's text;
// only data that is no list of arguments fails.
func TestUnmarshalMessageArgs(t *testing.T) {
	for _, tt := range []struct {
		name, stored string
		want         []any
		err          bool
	}{
		{"empty column", "", nil, false},
		{"no arguments", "[]", nil, false},
		{"null", "null", nil, false},
		{"vocabulary", `[{"kind":"target_state","value":"failed"},{"kind":"word","value":"wave"}]`,
			[]any{driverhub.TargetFailed, driverhub.Word("wave")}, false},
		{"int", `[{"kind":"int","value":42}]`, []any{42}, false},
		{"unknown kind, a string", `[{"kind":"colour","value":"red"}]`, []any{"red"}, false},
		{"unknown kind, a number", `[{"kind":"float","value":1.5}]`, []any{"1.5"}, false},
		{"unknown kind, an object", `[{"kind":"span","value":{"from":1}}]`, []any{`{"from":1}`}, false},
		{"an int that is no number", `[{"kind":"int","value":"seven"}]`, []any{"seven"}, false},
		{"a word that is no string", `[{"kind":"word","value":3}]`, []any{"3"}, false},
		{"a message of an unknown kind", `[{"kind":"message","value":{"format":"by %s","args":[{"kind":"new","value":"x"}]}}]`,
			[]any{driverhub.Messagef("by %s", "x")}, false},
		{"not JSON", `[{"kind":`, nil, true},
		{"not a list", `{"kind":"int","value":1}`, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := driverhub.UnmarshalMessageArgs([]byte(tt.stored))
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want one: %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrorText: an error's message whole, to give to another message.
func TestErrorText(t *testing.T) {
	e := driverhub.Errorf(driverhub.EFailedPrecondition, "instance %s cannot be deployed: %d problems", "gw1", 2)
	if m := e.Text(); m.Format != e.Format || m.String() != e.Message {
		t.Errorf("Text() = %#v (%q), want the error's format and message", m, m.String())
	}
	if m := driverhub.ErrNoSpace.Text(); m.String() != driverhub.ErrNoSpace.Message || m.Format != driverhub.ErrNoSpace.Message {
		t.Errorf("a constant message reads %q, made by %q; want itself", m.String(), m.Format)
	}
	percent := &driverhub.Error{Code: driverhub.EInternal, Message: "disk 100% full"}
	if m := percent.Text(); m.String() != percent.Message {
		t.Errorf("a constant message with %%: %q", m.String())
	}
	if s := fmt.Sprintf("refused: %s", e.Text()); s != "refused: "+e.Message {
		t.Errorf("as an argument: %q", s)
	}
}
