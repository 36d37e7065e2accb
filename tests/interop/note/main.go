// Command note_interop checks quipu's signed notes against Go's
// golang.org/x/mod/sumdb/note, an independent implementation of C2SP
// signed-note. tests/crypto/note_test.cpp builds and runs it.
//
//	note_interop verify <vkey>      reads a signed note on stdin, prints its text
//	note_interop sign <key-file>    reads a text on stdin, prints the signed note
//	note_interop cosigned <vkey>    reads a note on stdin, checks its C2SP
//	                                cosignature/v1 (type 0x04) by <vkey>, prints
//	                                the cosignature's timestamp
//
// Exits 1 with a message on stderr when Go rejects the key or the note.
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// cosigV1 is a note.Verifier for c2sp.org/tlog-cosignature's Ed25519 kind,
// written from the spec: key ID SHA-256(name || "\n" || 0x04 || key)[:4],
// signature = 8-byte big-endian timestamp || Ed25519 over
// "cosignature/v1\ntime <t>\n" || the note text.
type cosigV1 struct {
	name  string
	hash  uint32
	key   ed25519.PublicKey
	stamp uint64
}

func (v *cosigV1) Name() string    { return v.name }
func (v *cosigV1) KeyHash() uint32 { return v.hash }
func (v *cosigV1) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	m := append([]byte("cosignature/v1\ntime "+strconv.FormatUint(t, 10)+"\n"), msg...)
	if !ed25519.Verify(v.key, m, sig[8:]) {
		return false
	}
	v.stamp = t
	return true
}

func newCosigV1(vkey string) (*cosigV1, error) {
	parts := strings.SplitN(vkey, "+", 3) // the base64 key may hold '+'.
	if len(parts) != 3 {
		return nil, fmt.Errorf("not name+hash+key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 0x04 {
		return nil, fmt.Errorf("not a type 0x04 Ed25519 key")
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	id := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", id) != parts[1] {
		return nil, fmt.Errorf("key hash %s does not match %08x", parts[1], id)
	}
	return &cosigV1{name: parts[0], hash: id, key: ed25519.PublicKey(raw[1:])}, nil
}

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
	case "cosigned":
		v, err := newCosigV1(os.Args[2])
		if err != nil {
			fail("cosigner key: %v", err)
		}
		if _, err := note.Open(input, note.VerifierList(v)); err != nil {
			fail("open: %v", err)
		}
		fmt.Println(v.stamp)
	default:
		fail("unknown command %q", os.Args[1])
	}
}
