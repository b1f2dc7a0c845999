package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

var errEOF = errors.New("client hung up")

// readCommand reads one command: a RESP array of bulk strings (what redis clients send) or
// an inline command, words separated by spaces (what a person types into nc or telnet).
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "*") {
		return strings.Fields(line), nil
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 || n > 1024*1024 {
		return nil, fmt.Errorf("Protocol error: invalid multibulk length")
	}
	args := make([]string, 0, n)
	for range n {
		h, err := readLine(r)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(h, "$") {
			return nil, fmt.Errorf("Protocol error: expected '$', got '%.1s'", h)
		}
		size, err := strconv.Atoi(h[1:])
		if err != nil || size < 0 || size > 512*1024*1024 {
			return nil, fmt.Errorf("Protocol error: invalid bulk length")
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, errEOF
		}
		if string(buf[size:]) != "\r\n" {
			return nil, fmt.Errorf("Protocol error: bulk string not terminated by CRLF")
		}
		args = append(args, string(buf[:size]))
	}
	return args, nil
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		if line == "" || errors.Is(err, io.EOF) {
			return "", errEOF
		}
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// encodeCommand is the RESP form of a command, as written to the append-only log.
func encodeCommand(args []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

func writeSimple(w *bufio.Writer, s string) { fmt.Fprintf(w, "+%s\r\n", s) }
func writeError(w *bufio.Writer, s string)  { fmt.Fprintf(w, "-%s\r\n", s) }
func writeInt(w *bufio.Writer, n int)       { fmt.Fprintf(w, ":%d\r\n", n) }
func writeNil(w *bufio.Writer)              { w.WriteString("$-1\r\n") }
func writeBulk(w *bufio.Writer, s string)   { fmt.Fprintf(w, "$%d\r\n%s\r\n", len(s), s) }
func writeArray(w *bufio.Writer, items []string) {
	fmt.Fprintf(w, "*%d\r\n", len(items))
	for _, s := range items {
		writeBulk(w, s)
	}
}
