// Command tlog_interop checks quipu's Merkle roots and proofs with Go's
// golang.org/x/mod/sumdb/tlog, an independent RFC 9162 implementation.
// tests/ledger/merkle_test.cpp builds and runs it.
//
//	tlog_interop ENTRIES_FILE < QUERIES
//
// ENTRIES_FILE holds one ledger entry per line (its exact bytes). Each query
// line is one of
//
//	root N B64ROOT
//	incl INDEX N B64LEAF B64ROOT [B64HASH ...]
//	cons OLD NEW B64OLDROOT B64NEWROOT [B64HASH ...]
//
// and is answered "ok", or "FAIL <reason>". Go computes the roots itself
// from the entries and checks quipu's proofs with CheckRecord/CheckTree, and
// also compares them with the proofs it makes (ProveRecord/ProveTree).
package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

func hash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("bad hash %q", s)
	}
	copy(h[:], b)
	return h, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tlog_interop ENTRIES_FILE < QUERIES")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, line := range lines {
		hashes, err := tlog.StoredHashes(int64(i), []byte(line), reader)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		stored = append(stored, hashes...)
	}

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	failed := false
	for in.Scan() {
		f := strings.Fields(in.Text())
		answer := "ok"
		check := func() error {
			switch f[0] {
			case "root":
				n, _ := strconv.ParseInt(f[1], 10, 64)
				want, err := hash(f[2])
				if err != nil {
					return err
				}
				got, err := tlog.TreeHash(n, reader)
				if err != nil {
					return err
				}
				if got != want {
					return fmt.Errorf("root of %d: go %s, quipu %s", n, got, want)
				}
			case "incl":
				index, _ := strconv.ParseInt(f[1], 10, 64)
				n, _ := strconv.ParseInt(f[2], 10, 64)
				leaf, err := hash(f[3])
				if err != nil {
					return err
				}
				root, err := hash(f[4])
				if err != nil {
					return err
				}
				var proof tlog.RecordProof
				for _, s := range f[5:] {
					h, err := hash(s)
					if err != nil {
						return err
					}
					proof = append(proof, h)
				}
				if err := tlog.CheckRecord(proof, n, root, index, leaf); err != nil {
					return fmt.Errorf("CheckRecord(%d, %d): %v", index, n, err)
				}
				mine, err := tlog.ProveRecord(n, index, reader)
				if err != nil {
					return err
				}
				if fmt.Sprint(mine) != fmt.Sprint(proof) {
					return fmt.Errorf("proof of %d in %d differs from Go's", index, n)
				}
			case "cons":
				oldN, _ := strconv.ParseInt(f[1], 10, 64)
				newN, _ := strconv.ParseInt(f[2], 10, 64)
				oldRoot, err := hash(f[3])
				if err != nil {
					return err
				}
				newRoot, err := hash(f[4])
				if err != nil {
					return err
				}
				var proof tlog.TreeProof
				for _, s := range f[5:] {
					h, err := hash(s)
					if err != nil {
						return err
					}
					proof = append(proof, h)
				}
				if err := tlog.CheckTree(proof, newN, newRoot, oldN, oldRoot); err != nil {
					return fmt.Errorf("CheckTree(%d, %d): %v", oldN, newN, err)
				}
				mine, err := tlog.ProveTree(newN, oldN, reader)
				if err != nil {
					return err
				}
				if fmt.Sprint(mine) != fmt.Sprint(proof) {
					return fmt.Errorf("consistency proof %d->%d differs from Go's", oldN, newN)
				}
			default:
				return fmt.Errorf("unknown query %q", f[0])
			}
			return nil
		}
		if err := check(); err != nil {
			answer = "FAIL " + err.Error()
			failed = true
		}
		fmt.Println(answer)
	}
	if failed {
		os.Exit(1)
	}
}
