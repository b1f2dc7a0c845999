package wait

import (
	"context"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), 0) {
		t.Error("Sleep(0) on a live context = false")
	}
	if !Sleep(context.Background(), time.Millisecond) {
		t.Error("Sleep(1ms) on a live context = false")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, 0) {
		t.Error("Sleep(0) on an ended context = true")
	}
	// An ended context returns at once however long the sleep: an hour would time the test out.
	if Sleep(ctx, time.Hour) {
		t.Error("Sleep(1h) on an ended context = true")
	}
}
