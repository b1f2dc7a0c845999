package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// db holds strings and lists; every command runs under one lock, as Redis runs them on one
// thread, so each is atomic.
type db struct {
	mu      sync.Mutex
	strings map[string]string
	lists   map[string][]string
	aof     io.Writer // where writes are logged; nil when in memory only
}

func newDB() *db { return &db{strings: map[string]string{}, lists: map[string][]string{}} }

const wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"

// do runs one command and writes its reply.
func (d *db) do(w *bufio.Writer, args []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := strings.ToUpper(args[0])
	arity, known := arities[name]
	switch {
	case !known:
		writeError(w, fmt.Sprintf("ERR unknown command '%s'", args[0]))
		return
	case arity > 0 && len(args) != arity, arity < 0 && len(args) < -arity:
		writeError(w, fmt.Sprintf("ERR wrong number of arguments for '%s' command", strings.ToLower(name)))
		return
	}
	if writes[name] && d.aof != nil {
		if _, err := io.WriteString(d.aof, encodeCommand(args)); err != nil {
			writeError(w, "ERR append-only log: "+err.Error())
			return
		}
	}
	d.apply(w, name, args)
}

// arities as Redis counts them: n exactly, -n at least n (the command's name included).
var arities = map[string]int{"PING": -1, "ECHO": 2, "GET": 2, "SET": 3, "DEL": -2, "RPUSH": -3, "LRANGE": 4, "LLEN": 2, "COMMAND": -1}

var writes = map[string]bool{"SET": true, "DEL": true, "RPUSH": true}

func (d *db) apply(w *bufio.Writer, name string, args []string) {
	switch name {
	case "PING":
		if len(args) > 1 {
			writeBulk(w, args[1])
		} else {
			writeSimple(w, "PONG")
		}
	case "ECHO":
		writeBulk(w, args[1])
	case "COMMAND": // redis-cli asks on start; an empty answer is enough
		writeArray(w, nil)
	case "GET":
		if _, isList := d.lists[args[1]]; isList {
			writeError(w, wrongType)
		} else if v, ok := d.strings[args[1]]; ok {
			writeBulk(w, v)
		} else {
			writeNil(w)
		}
	case "SET":
		delete(d.lists, args[1])
		d.strings[args[1]] = args[2]
		writeSimple(w, "OK")
	case "DEL":
		n := 0
		for _, k := range args[1:] {
			_, s := d.strings[k]
			_, l := d.lists[k]
			if s || l {
				n++
			}
			delete(d.strings, k)
			delete(d.lists, k)
		}
		writeInt(w, n)
	case "RPUSH":
		if _, isString := d.strings[args[1]]; isString {
			writeError(w, wrongType)
			return
		}
		d.lists[args[1]] = append(d.lists[args[1]], args[2:]...)
		writeInt(w, len(d.lists[args[1]]))
	case "LLEN":
		if _, isString := d.strings[args[1]]; isString {
			writeError(w, wrongType)
			return
		}
		writeInt(w, len(d.lists[args[1]]))
	case "LRANGE":
		if _, isString := d.strings[args[1]]; isString {
			writeError(w, wrongType)
			return
		}
		start, err1 := strconv.Atoi(args[2])
		stop, err2 := strconv.Atoi(args[3])
		if err1 != nil || err2 != nil {
			writeError(w, "ERR value is not an integer or out of range")
			return
		}
		writeArray(w, lrange(d.lists[args[1]], start, stop))
	}
}

// lrange is Redis' LRANGE: inclusive bounds, negative ones counted from the end.
func lrange(l []string, start, stop int) []string {
	n := len(l)
	if start < 0 {
		start = max(n+start, 0)
	}
	if stop < 0 {
		stop = n + stop
	}
	stop = min(stop, n-1)
	if start > stop {
		return []string{}
	}
	return l[start : stop+1]
}

// replay applies the writes logged at path (a missing file is an empty log) and returns
// how many there were. A command cut short at the end (the pod killed mid-write) is dropped.
func (d *db) replay(path string) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open the append-only log: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	discard := bufio.NewWriter(io.Discard)
	n := 0
	for {
		args, err := readCommand(r)
		if errors.Is(err, errEOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("the append-only log %s after %d writes: %w", path, n, err)
		}
		d.apply(discard, strings.ToUpper(args[0]), args)
		n++
	}
}
