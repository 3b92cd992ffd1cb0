package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "ports":
		err = ports(args)
	case "probe":
		err = probe(args)
	case "traffic":
		err = traffic(args)
	case "verify":
		err = verify(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2echeck %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: e2echeck ports N | probe URL | traffic [flags] | verify [flags]")
	os.Exit(2)
}

// ports prints n distinct free ports. All listeners are held open until every port is chosen,
// so the ports differ; another process may still take one before the caller binds it, which
// the script notices when a server fails to start.
func ports(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("want one argument, the number of ports")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > 32 {
		return fmt.Errorf("bad port count %q", args[0])
	}
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		listeners = append(listeners, l)
	}
	for _, l := range listeners {
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

// probe succeeds when url answers 200 within a second.
func probe(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("want one argument, the URL")
	}
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(args[0])
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", args[0], resp.StatusCode)
	}
	return nil
}
