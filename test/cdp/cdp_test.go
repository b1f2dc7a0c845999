package cdp

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPageEvalAndScreenshot drives a real chromium: a page's DOM is read back, a script
// error is reported as an error, and a screenshot is a PNG.
func TestPageEvalAndScreenshot(t *testing.T) {
	chromium, err := FindChromium()
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := Launch(ctx, chromium)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		b.Close()
		if _, err := os.Stat(b.dataDir); !os.IsNotExist(err) {
			t.Errorf("profile directory %s left behind (%v)", b.dataDir, err)
		}
	}()
	p, err := b.NewPage(ctx, 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, "data:text/html,<h1 id=x>hello</h1><script>setTimeout(()=>{document.body.dataset.late='yes'},200)</script>"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `document.body && document.body.dataset.late === "yes"`, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var text string
	if err := p.Eval(ctx, `document.getElementById("x").textContent`, &text); err != nil || text != "hello" {
		t.Fatalf("eval: %q, %v", text, err)
	}
	if err := p.Eval(ctx, `no.such.thing`, nil); err == nil {
		t.Fatal("a script error was not reported")
	}
	path := filepath.Join(t.TempDir(), "shot.png")
	if err := p.Screenshot(ctx, path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Fatalf("screenshot: %d bytes, %v", len(data), err)
	}
}
