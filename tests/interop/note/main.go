// Command note_interop checks quipu's signed notes against Go's
// golang.org/x/mod/sumdb/note, an independent implementation of C2SP
// signed-note. tests/crypto/note_test.cpp builds and runs it.
//
//	note_interop verify <vkey>      reads a signed note on stdin, prints its text
//	note_interop sign <key-file>    reads a text on stdin, prints the signed note
//
// Exits 1 with a message on stderr when Go rejects the key or the note.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "note_interop: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: note_interop verify <vkey> | sign <key-file>")
	}
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("reading stdin: %v", err)
	}
	switch os.Args[1] {
	case "verify":
		v, err := note.NewVerifier(os.Args[2])
		if err != nil {
			fail("verifier key: %v", err)
		}
		n, err := note.Open(input, note.VerifierList(v))
		if err != nil {
			fail("open: %v", err)
		}
		for _, s := range n.Sigs {
			fmt.Fprintf(os.Stderr, "verified %s+%08x\n", s.Name, s.Hash)
		}
		os.Stdout.WriteString(n.Text)
	case "sign":
		// The key file is quipu's: one private key string and a newline.
		raw, err := os.ReadFile(os.Args[2])
		if err != nil {
			fail("key file: %v", err)
		}
		s, err := note.NewSigner(strings.TrimSuffix(string(raw), "\n"))
		if err != nil {
			fail("signer key: %v", err)
		}
		msg, err := note.Sign(&note.Note{Text: string(input)}, s)
		if err != nil {
			fail("sign: %v", err)
		}
		os.Stdout.Write(msg)
	default:
		fail("unknown command %q", os.Args[1])
	}
}
