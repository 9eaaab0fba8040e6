package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/wneessen/go-mail"

	"certgov/importers"
	"certgov/model"
	"certgov/store/digest"
)

func newDigestCommand(a *app) *cobra.Command {
	var out, within, fallback, from, smtpAddr, smtpUser, smtpPasswordFile, smtpCA, policyFile string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "digest --out DIR [--within 14d] [--fallback ADDR] [--smtp HOST:PORT [--dry-run]]",
		Short: "Write (and send) each owner's digest: what they must do, with the commands that do it",
		Long: `Write, for each owner, what they must do: their identities' findings (expired
and expiring certificates, reviews due, exceptions ended, by severity) and the
approved exceptions ending within --within, most urgent first, each with the
certgov command that resolves it. Each owner gets OWNER.md and OWNER.eml
(multipart plain text and HTML, RFC 5322) in DIR, 0600. An owner that is not a
mail address, and the items without an owner, go to --fallback.

--smtp HOST:PORT sends the .eml files, with STARTTLS required (--smtp-ca FILE
trusts a private CA), as --smtp-user with the password from
$CERTGOV_SMTP_PASSWORD or --smtp-password-file (never a flag); --dry-run writes
them and says who would get what, sending nothing.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{errors.New("--out DIR is required")}
			}
			d, err := withinFlag(within)
			if err != nil {
				return err
			}
			s, _, policy, err := a.openReview(cmd.Context(), "", policyFile)
			if err != nil {
				return err
			}
			defer s.Close()
			policy.ExpiringWithin = d
			now := time.Now()
			digests, err := digest.Build(cmd.Context(), s, policy, now, time.Duration(d))
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o700); err != nil {
				return err
			}
			var messages []*mail.Msg
			var plan []string
			for i, dg := range digests {
				name := fileName(dg.Owner, i)
				text := dg.Text(now)
				if err := os.WriteFile(filepath.Join(out, name+".md"), []byte(text), 0o600); err != nil {
					return err
				}
				to := recipient(dg.Owner, fallback)
				if to == "" {
					plan = append(plan, fmt.Sprintf("%s.md: %d items for %s, no address (set --fallback)", name, len(dg.Items), ownerText(dg.Owner)))
					continue
				}
				msg, err := digestMessage(dg, from, to, text, now)
				if err != nil {
					return err
				}
				if err := writeFile0600(filepath.Join(out, name+".eml"), msg); err != nil {
					return err
				}
				messages = append(messages, msg)
				plan = append(plan, fmt.Sprintf("%s.eml: %d items for %s, to %s", name, len(dg.Items), ownerText(dg.Owner), to))
			}
			for _, line := range plan {
				fmt.Fprintln(cmd.OutOrStdout(), model.Printable(line))
			}
			if smtpAddr == "" || len(messages) == 0 {
				return nil
			}
			if dryRun {
				fmt.Fprintf(cmd.OutOrStdout(), "dry run: %d messages not sent to %s\n", len(messages), model.Printable(smtpAddr))
				return nil
			}
			client, err := smtpClient(smtpAddr, smtpUser, smtpPasswordFile, smtpCA)
			if err != nil {
				return err
			}
			if err := client.DialAndSendWithContext(cmd.Context(), messages...); err != nil {
				return fmt.Errorf("smtp %s: %w", model.Printable(smtpAddr), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d messages sent through %s\n", len(messages), model.Printable(smtpAddr))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "folder to write the digests to")
	cmd.Flags().StringVar(&within, "within", "14d", "what expires or ends within this is due now")
	cmd.Flags().StringVar(&fallback, "fallback", "", "address for items without an owner, and owners that are no address")
	cmd.Flags().StringVar(&from, "from", "certgov@localhost", "the digests' sender")
	cmd.Flags().StringVar(&smtpAddr, "smtp", "", "send through this SMTP server (HOST:PORT, STARTTLS required)")
	cmd.Flags().StringVar(&smtpUser, "smtp-user", "", "SMTP login (password: $CERTGOV_SMTP_PASSWORD or --smtp-password-file)")
	cmd.Flags().StringVar(&smtpPasswordFile, "smtp-password-file", "", "file whose first line is the SMTP password")
	cmd.Flags().StringVar(&smtpCA, "smtp-ca", "", "PEM file of the CA the SMTP server's certificate chains to (default: the system's)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "with --smtp: write the digests and say who would get what, send nothing")
	cmd.Flags().StringVar(&policyFile, "policy", "", "policy file (see certgov findings --help)")
	return cmd
}

// recipient is where an owner's digest goes: the owner when it is a mail
// address, else the fallback ("" when there is none).
func recipient(owner, fallback string) string {
	if a, err := netmail.ParseAddress(owner); err == nil && a.Address == owner {
		return owner
	}
	return fallback
}

func ownerText(owner string) string {
	if owner == "" {
		return "(no owner)"
	}
	return owner
}

// fileName is a digest's file name: the owner, made safe for a file
// system; "_no-owner" for the items without one. i keeps two owners that
// read alike apart.
func fileName(owner string, i int) string {
	if owner == "" {
		return "_no-owner"
	}
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '@' || r == '-' || r == '_' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, owner)
	if len(safe) > 80 || safe != strings.ToLower(owner) {
		safe = fmt.Sprintf("%.60s-%d", safe, i)
	}
	return strings.TrimLeft(safe, ".")
}

// digestMessage is the digest as a mail: plain text (the Markdown) with
// an HTML alternative.
func digestMessage(dg digest.Digest, from, to, text string, now time.Time) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, usageError{fmt.Errorf("--from: %w", err)}
	}
	if err := msg.To(to); err != nil {
		return nil, fmt.Errorf("recipient %s: %w", model.Printable(to), err)
	}
	subject := dg.Subject()
	if dg.Owner != to {
		subject += " for " + ownerText(dg.Owner)
	}
	msg.Subject(model.Printable(subject))
	msg.SetDateWithValue(now)
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, text)
	html, err := dg.HTML(now)
	if err != nil {
		return nil, err
	}
	msg.AddAlternativeString(mail.TypeTextHTML, html)
	return msg, nil
}

func writeFile0600(path string, msg *mail.Msg) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := msg.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// smtpClient is a client for the server, STARTTLS required, logging in
// when a user is named (the password from the environment or a file).
func smtpClient(addr, user, passwordFile, caFile string) (*mail.Client, error) {
	host, portText, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil {
		return nil, usageError{errors.New("--smtp: want HOST:PORT")}
	}
	config := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := importers.ReadBounded(caFile, smallFileLimit)
		if err != nil {
			return nil, err
		}
		config.RootCAs = x509.NewCertPool()
		if !config.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--smtp-ca %s: no certificate", model.Printable(caFile))
		}
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTLSPolicy(mail.TLSMandatory), mail.WithTLSConfig(config), mail.WithTimeout(30 * time.Second)}
	if user != "" {
		password := os.Getenv("CERTGOV_SMTP_PASSWORD")
		if passwordFile != "" {
			data, err := importers.ReadBounded(passwordFile, smallFileLimit)
			if err != nil {
				return nil, err
			}
			password, _, _ = strings.Cut(strings.TrimRight(string(data), "\r\n"), "\n")
		}
		if password == "" {
			return nil, usageError{errors.New("--smtp-user needs a password: $CERTGOV_SMTP_PASSWORD or --smtp-password-file")}
		}
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(user), mail.WithPassword(password))
	}
	return mail.NewClient(host, opts...)
}
