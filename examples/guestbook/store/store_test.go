package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// session runs the commands (inline form) against d and returns the raw replies.
func session(d *db, cmds ...string) string {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	r := bufio.NewReader(strings.NewReader(strings.Join(cmds, "\r\n") + "\r\n"))
	for {
		args, err := readCommand(r)
		if err != nil {
			break
		}
		d.do(w, args)
	}
	w.Flush()
	return out.String()
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name string
		cmds []string
		want string
	}{
		{"ping", []string{"PING", "ping hi"}, "+PONG\r\n$2\r\nhi\r\n"},
		{"set and get", []string{"SET a 1", "GET a", "GET b"}, "+OK\r\n$1\r\n1\r\n$-1\r\n"},
		{"lists", []string{"RPUSH l x y", "RPUSH l z", "LRANGE l 0 -1", "LRANGE l -2 -1", "LRANGE l 5 9", "LLEN l"},
			":2\r\n:3\r\n*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n*2\r\n$1\r\ny\r\n$1\r\nz\r\n*0\r\n:3\r\n"},
		{"del", []string{"SET a 1", "RPUSH l x", "DEL a l nope", "GET a"}, "+OK\r\n:1\r\n:2\r\n$-1\r\n"},
		{"wrong type", []string{"SET a 1", "RPUSH a x", "LLEN a"}, "+OK\r\n-" + wrongType + "\r\n-" + wrongType + "\r\n"},
		{"unknown", []string{"FLUSHALL"}, "-ERR unknown command 'FLUSHALL'\r\n"},
		{"arity", []string{"GET", "RPUSH l"}, "-ERR wrong number of arguments for 'get' command\r\n-ERR wrong number of arguments for 'rpush' command\r\n"},
		{"not a number", []string{"LRANGE l a 1"}, "-ERR value is not an integer or out of range\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := session(newDB(), tc.cmds...); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReadCommandRESP(t *testing.T) {
	r := bufio.NewReader(strings.NewReader(encodeCommand([]string{"RPUSH", "guestbook", "hello world\r\n"})))
	args, err := readCommand(r)
	if err != nil || len(args) != 3 || args[2] != "hello world\r\n" {
		t.Fatalf("got %q, %v", args, err)
	}
	for _, bad := range []string{"*x\r\n", "*1\r\n:1\r\n", "*1\r\n$3\r\nabcd\r\n"} {
		if _, err := readCommand(bufio.NewReader(strings.NewReader(bad))); err == nil || err == errEOF {
			t.Errorf("%q: want a protocol error, got %v", bad, err)
		}
	}
}

// Writes logged to the append-only file come back in a new db; reads are not logged, and a
// command cut short at the end is dropped.
func TestAppendOnlyLogReplays(t *testing.T) {
	path := filepath.Join(t.TempDir(), "appendonly.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	d := newDB()
	d.aof = f
	session(d, "RPUSH guestbook one two", "GET x", "SET title hi", "DEL nothing")
	f.WriteString("*2\r\n$3\r\nGET") // a write cut short
	f.Close()
	again := newDB()
	n, err := again.replay(path)
	if err != nil || n != 3 {
		t.Fatalf("replayed %d, %v; want 3 writes", n, err)
	}
	if got := session(again, "LRANGE guestbook 0 -1", "GET title"); got != "*2\r\n$3\r\none\r\n$3\r\ntwo\r\n$2\r\nhi\r\n" {
		t.Errorf("after replay: %q", got)
	}
	if n, err := newDB().replay(filepath.Join(t.TempDir(), "missing")); n != 0 || err != nil {
		t.Errorf("missing log: %d, %v", n, err)
	}
}
