package main

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDigestsThroughSMTP writes the demo's digests, then sends them
// through a real SMTP server (Python's aiosmtpd, Debian's, on 127.0.0.1,
// STARTTLS required with a certificate of OpenSSL's) into a Maildir, and
// reads them back: one message per owner with a mail address and one for
// the items without an owner to the fallback, each multipart plain text
// and HTML, telling the owner what to run.
func TestDigestsThroughSMTP(t *testing.T) {
	python := smtpPython(t)
	home := isolate(t)
	if r := certgov(t, "demo", "--no-tui"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	t.Setenv("CERTGOV_DB", database(t, filepath.Join(home, "data", "certgov", "demo.db")))
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "smtp.pem"), filepath.Join(dir, "smtp.key")
	if out, err := exec.Command(interopTool(t, "openssl", ""), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
		"-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	maildir := filepath.Join(dir, "Maildir")
	port := freePort(t)
	startDaemon(t, exec.Command(python, "-m", "aiosmtpd", "-n", "-l", fmt.Sprintf("127.0.0.1:%d", port), "--tlscert", cert, "--tlskey", key,
		"-c", "aiosmtpd.handlers.Mailbox", maildir), []*interopServer{{port: port}})
	smtp := fmt.Sprintf("127.0.0.1:%d", port)

	out := filepath.Join(dir, "digests")
	dry := certgov(t, "digest", "--out", out, "--fallback", "secops@example.com", "--smtp", smtp, "--smtp-ca", cert, "--dry-run")
	if dry.code != 0 || !strings.Contains(dry.stdout, "dry run: ") || countFiles(filepath.Join(maildir, "new")) != 0 {
		t.Fatalf("dry run: %d %s%s", dry.code, dry.stdout, dry.stderr)
	}
	sent := certgov(t, "digest", "--out", out, "--fallback", "secops@example.com", "--smtp", smtp, "--smtp-ca", cert)
	if sent.code != 0 {
		t.Fatalf("digest: %d %s%s", sent.code, sent.stdout, sent.stderr)
	}
	var n int
	fmt.Sscanf(sent.stdout[strings.LastIndex(sent.stdout[:len(sent.stdout)-1], "\n")+1:], "%d messages sent", &n)
	deadline := time.Now().Add(10 * time.Second)
	for countFiles(filepath.Join(maildir, "new")) < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := countFiles(filepath.Join(maildir, "new")); n < 2 || got != n {
		t.Fatalf("%d messages sent, %d in the Maildir:\n%s", n, got, sent.stdout)
	}
	seen := map[string]bool{}
	for _, f := range mustReadDir(t, filepath.Join(maildir, "new")) {
		msg, err := mail.ReadMessage(bytes.NewReader(mustRead(t, filepath.Join(maildir, "new", f))))
		if err != nil {
			t.Fatal(err)
		}
		to, subject := msg.Header.Get("To"), msg.Header.Get("Subject")
		if !strings.HasPrefix(subject, "certgov: ") {
			t.Errorf("subject %q", subject)
		}
		parts := mimeParts(t, msg)
		if !strings.HasPrefix(parts["text/plain"], "# What to do: ") || !strings.Contains(parts["text/html"], "<table") {
			t.Errorf("to %s: parts %v", to, mapKeysOf(parts))
		}
		switch {
		case strings.Contains(to, "payments-oncall@example.com"):
			seen["payments"] = true
			if !strings.Contains(parts["text/plain"], "do: `") || !strings.Contains(parts["text/plain"], ".payments.") {
				t.Errorf("the payments owner's digest says nothing to do:\n%s", parts["text/plain"])
			}
		case strings.Contains(to, "secops@example.com"):
			seen["fallback"] = true
			if !strings.Contains(subject, "for (no owner)") || !strings.Contains(parts["text/plain"], "certgov owner set ") {
				t.Errorf("the fallback's digest: %q\n%.500s", subject, parts["text/plain"])
			}
		}
	}
	if !seen["payments"] || !seen["fallback"] {
		t.Errorf("the payments owner's digest or the fallback's was not received: %v", seen)
	}
	t.Logf("%d digests sent through aiosmtpd with STARTTLS and read back from its Maildir", n)
	if _, err := os.Stat(filepath.Join(out, "payments-oncall@example.com.eml")); err != nil {
		t.Error(err)
	}
}

// smtpPython is a Python with aiosmtpd (Debian's python3-aiosmtpd).
func smtpPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import aiosmtpd").Run() == nil {
			return p
		}
	}
	if os.Getenv("CERTGOV_CI") != "" {
		t.Fatal("python3-aiosmtpd is missing on CI (.ci/run installs it)")
	}
	t.Skip("no aiosmtpd here")
	return ""
}

func countFiles(dir string) int {
	entries, _ := os.ReadDir(dir)
	return len(entries)
}

func mustReadDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// mimeParts are a multipart message's parts by content type, decoded.
func mimeParts(t *testing.T, msg *mail.Message) map[string]string {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") {
		t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	out := map[string]string{}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p) // quoted-printable is undone by NextPart
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(body)
	}
}

func mapKeysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
