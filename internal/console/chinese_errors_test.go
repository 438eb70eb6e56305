package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/driverhub/driverhub"
	"github.com/driverhub/driverhub/internal/apitest"
)

// TestServiceMessagesInChinese: a Chinese page shows the services' refusals
// in Chinese, beside the field and in the error box, with the field names
// and the vocabulary (roles, "driver") in Chinese too; an English page
// keeps the English.
func TestServiceMessagesInChinese(t *testing.T) {
	srv := apitest.New(t)
	b := adminBrowser(t, srv)
	b.lang = "zh-CN"

	p := b.post("/instances", url.Values{"name": {"bad name!"}, "description": {"kept"}})
	if p.Status != http.StatusBadRequest {
		t.Fatalf("bad instance name: %d %s", p.Status, snippet(p.Body))
	}
	for _, want := range []string{"必须为1-20个字母、数字", `<code>名称</code>`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the Chinese page lacks %q: %s", want, snippet(p.Body))
		}
	}
	if strings.Contains(p.Body, "letters, digits") {
		t.Errorf("the Chinese page shows the English message: %s", snippet(p.Body))
	}

	// Every field of the new-driver form, each beside its field, in Chinese.
	parts := replace(replace(replace(meterForm(t, "9meter", nil), "protocol", "can"), "min_edge_version", "1.0"), "memory_limit_mb", "8")
	p = b.postMultipart("/drivers/new", parts...)
	if p.Status != http.StatusBadRequest {
		t.Fatalf("bad driver form: %d %s", p.Status, snippet(p.Body))
	}
	for _, want := range []string{"必须以字母开头", "必须是以下之一：modbus", "必须是十进制的 主版本.次版本.修订号", "必须在16-65536之间，实际为8"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the Chinese driver form lacks %q: %s", want, snippet(p.Body))
		}
	}

	// A word of the vocabulary as an argument: "driver", a role.
	if p := b.get("/drivers/nosuch"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "未找到驱动") {
		t.Errorf("missing driver in Chinese: %d %s", p.Status, snippet(p.Body))
	}
	u, pw := newUser(t, srv, "vera", driverhub.RoleViewer)
	viewer := newBrowser(t, srv)
	viewer.login(u, pw)
	viewer.lang = "zh-CN"
	if p := viewer.post("/instances", url.Values{"name": {"gw9"}}); p.Status != http.StatusForbidden ||
		!strings.Contains(p.Body, "此操作需要开发者角色；您的角色是只读") {
		t.Errorf("a viewer's refusal in Chinese: %d %s", p.Status, snippet(p.Body))
	}

	b.lang = "en"
	if p := b.post("/instances", url.Values{"name": {"bad name!"}}); !strings.Contains(p.Body, "must be 1-20 letters, digits") ||
		!strings.Contains(p.Body, "<code>name</code>") {
		t.Errorf("the English page: %s", snippet(p.Body))
	}
}
