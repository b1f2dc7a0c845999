// Command build writes a test image archive for `skiff image import`:
//
//	go run ./test/images/build -busybox -name skiff.test/busybox:1 -o busybox.tar
//	go run ./test/images/build -binary ./myserver -name skiff.test/myserver:1 -o myserver.tar
package main

import (
	"flag"
	"fmt"
	"os"

	nimages "github.com/skiff-sh/skiff/nodeagent/images"
	"github.com/skiff-sh/skiff/test/images"
)

func main() {
	busybox := flag.Bool("busybox", false, "an image of busybox-static")
	binary := flag.String("binary", "", "an image of this static program (its entrypoint)")
	name := flag.String("name", "", "the image's name, e.g. skiff.test/busybox:1")
	out := flag.String("o", "", "the archive to write")
	flag.Parse()
	if *name == "" || *out == "" || *busybox == (*binary != "") {
		fmt.Fprintln(os.Stderr, "usage: build (-busybox | -binary PATH) -name NAME -o FILE")
		os.Exit(2)
	}
	var img nimages.Image
	var err error
	if *busybox {
		img, err = images.Busybox(*name)
	} else {
		img, err = images.Static(*name, *binary)
	}
	if err == nil {
		err = images.WriteFile(*out, img)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}
