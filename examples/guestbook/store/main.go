// Command store is the guestbook's data store: a small server speaking the Redis protocol
// (RESP, and inline commands, so `nc` can talk to it) with the few commands the guestbook
// needs — PING, ECHO, GET, SET, DEL, RPUSH, LRANGE, LLEN. With --dir it appends every write
// to DIR/appendonly.log and replays that file when it starts, so its data outlives the pod
// when DIR is a persistent volume (the storage tutorial shows this).
//
//	store [--listen :6379] [--dir /data]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	listen := flag.String("listen", ":6379", "address to serve the Redis protocol on")
	dir := flag.String("dir", "", "directory for the append-only log (empty: keep data in memory only)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, *dir); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, listen, dir string) error {
	db := newDB()
	if dir != "" {
		path := filepath.Join(dir, "appendonly.log")
		n, err := db.replay(path)
		if err != nil {
			return err
		}
		log.Printf("replayed %d writes from %s", n, path)
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("open the append-only log: %w", err)
		}
		defer f.Close()
		db.aof = f
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	log.Printf("serving the Redis protocol on %s", l.Addr())
	go func() { <-ctx.Done(); l.Close() }()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				log.Print("stopping")
				return nil
			}
			return err
		}
		go serve(db, c)
	}
}

// serve answers one client's commands until it hangs up.
func serve(db *db, c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			if !errors.Is(err, errEOF) {
				writeError(w, err.Error())
				w.Flush()
			}
			return
		}
		if len(args) == 0 {
			continue
		}
		db.do(w, args)
		// Flush only when no further pipelined command is waiting.
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}
