// Package cdp drives a headless Chromium over the Chrome DevTools Protocol, just enough for
// skiff's browser tests: open a page, evaluate JavaScript in it, take a screenshot. It speaks
// the protocol's JSON over a WebSocket (gorilla/websocket, already a skiff dependency), with
// one flat session per page.
package cdp

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// FindChromium returns the path of Debian's chromium (or another Chrome), or an error
// saying none is installed.
func FindChromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on PATH (Debian: apt-get install chromium)")
}

// Browser is a running headless Chromium.
type Browser struct {
	cmd     *exec.Cmd
	conn    *websocket.Conn
	dataDir string

	writeMu sync.Mutex
	mu      sync.Mutex
	nextID  int64
	waiting map[int64]chan reply
	closed  chan struct{} // the connection ended
	exited  chan struct{} // the browser process ended
	err     error
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Launch starts chromium headless with a DevTools port chosen by itself and connects to it.
// Its profile lives in a temporary directory that Close removes.
func Launch(ctx context.Context, chromium string) (*Browser, error) {
	userDataDir, err := os.MkdirTemp("", "skiff-chromium-")
	if err != nil {
		return nil, fmt.Errorf("cdp: %w", err)
	}
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-extensions", "--disable-background-networking", "--hide-scrollbars", "--mute-audio",
		"--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "--user-data-dir="+userDataDir, "about:blank")
	// Its own process group: Close can stop the renderers and helpers too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(userDataDir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(userDataDir)
		return nil, fmt.Errorf("cdp: start %s: %w", chromium, err)
	}
	b := &Browser{cmd: cmd, dataDir: userDataDir, waiting: map[int64]chan reply{}, closed: make(chan struct{}), exited: make(chan struct{})}
	go func() { cmd.Wait(); close(b.exited) }()
	// Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID".
	wsURL := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "DevTools listening on "); ok {
				select {
				case wsURL <- strings.TrimSpace(u):
				default:
				}
			}
		}
	}()
	var u string
	select {
	case u = <-wsURL:
	case <-b.exited:
		b.Close()
		return nil, fmt.Errorf("cdp: %s exited before opening its DevTools port", chromium)
	case <-ctx.Done():
		b.Close()
		return nil, fmt.Errorf("cdp: chromium did not open its DevTools port: %w", ctx.Err())
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("cdp: connect %s: %w", u, err)
	}
	conn.SetReadLimit(64 << 20) // screenshots
	b.conn = conn
	go b.read()
	return b, nil
}

// read dispatches the answers to the calls waiting for them; protocol events are ignored.
func (b *Browser) read() {
	defer close(b.closed)
	for {
		var msg struct {
			ID int64 `json:"id"`
			reply
		}
		if err := b.conn.ReadJSON(&msg); err != nil {
			b.mu.Lock()
			b.err = err
			b.mu.Unlock()
			return
		}
		if msg.ID == 0 {
			continue
		}
		b.mu.Lock()
		ch := b.waiting[msg.ID]
		delete(b.waiting, msg.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- msg.reply
		}
	}
}

// call sends one command (to the page session sessionID, or the browser when empty) and
// decodes its result into out (may be nil).
func (b *Browser) call(ctx context.Context, sessionID, method string, params, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan reply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if sessionID != "" {
		msg["sessionId"] = sessionID
	}
	b.writeMu.Lock()
	err := b.conn.WriteJSON(msg)
	b.writeMu.Unlock()
	if err != nil {
		return fmt.Errorf("cdp: %s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("cdp: %s: %s (%d)", method, r.Error.Message, r.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-b.closed:
		return fmt.Errorf("cdp: %s: connection closed: %v", method, b.err)
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.waiting, id)
		b.mu.Unlock()
		return fmt.Errorf("cdp: %s: %w", method, ctx.Err())
	}
}

// Close asks the browser to quit, stops whatever of it is left (its whole process group),
// and removes its profile directory.
func (b *Browser) Close() {
	if b.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = b.call(ctx, "", "Browser.close", nil, nil)
		cancel()
		b.conn.Close()
	}
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
	}
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	<-b.exited
	// A helper killed a moment ago may still be finishing a write in the profile.
	deadline := time.Now().Add(10 * time.Second)
	for os.RemoveAll(b.dataDir) != nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
}

// Page is one browser tab.
type Page struct {
	b       *Browser
	session string
}

// NewPage opens a tab of width×height CSS pixels.
func (b *Browser) NewPage(ctx context.Context, width, height int) (*Page, error) {
	var t struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &t); err != nil {
		return nil, err
	}
	var s struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": t.TargetID, "flatten": true}, &s); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: s.SessionID}
	err := b.call(ctx, p.session, "Emulation.setDeviceMetricsOverride",
		map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
	return p, err
}

// Navigate loads url (it returns when the navigation is committed, not when the page is done).
func (p *Page) Navigate(ctx context.Context, url string) error {
	var r struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.b.call(ctx, p.session, "Page.navigate", map[string]any{"url": url}, &r); err != nil {
		return err
	}
	if r.ErrorText != "" {
		return fmt.Errorf("cdp: navigate %s: %s", url, r.ErrorText)
	}
	return nil
}

// Eval evaluates a JavaScript expression in the page and decodes its (JSON-able) value into out.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception *struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.b.call(ctx, p.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r)
	if err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		msg := e.Text
		if e.Exception != nil {
			msg = e.Exception.Description
		}
		return fmt.Errorf("cdp: evaluate %q: %s", expr, msg)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// Screenshot writes a PNG of the whole page (beyond the viewport when it is longer) to path.
func (p *Page) Screenshot(ctx context.Context, path string) error {
	var r struct {
		Data string `json:"data"`
	}
	err := p.b.call(ctx, p.session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &r)
	if err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return fmt.Errorf("cdp: screenshot: %w", err)
	}
	return os.WriteFile(path, png, 0o644)
}

// WaitFor evaluates a boolean JavaScript expression until it is true or ctx ends, every
// poll; it returns the last evaluation error with ctx's.
func (p *Page) WaitFor(ctx context.Context, expr string, poll time.Duration) error {
	var last error
	for {
		var ok bool
		last = p.Eval(ctx, expr, &ok)
		if last == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cdp: waiting for %s: %w (last: %v)", expr, ctx.Err(), last)
		case <-time.After(poll):
		}
	}
}
