package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"certgov/importers"
	"certgov/model"
	"certgov/store"
	"certgov/store/evidence"
)

func newExportCommand(a *app) *cobra.Command {
	var campaign, out, signKey, policyFile, mode string
	var inventory, allowUnverified bool
	var since int64
	cmd := &cobra.Command{
		Use:   "export (--campaign NAME | --inventory) --out DIR [--sign-key KEY.pem]",
		Short: "Write an evidence bundle an auditor can check with sha256sum, openssl and python3",
		Long: `Write an evidence bundle: attestation.json (with its JSON Schema), attestation.csv,
audit.jsonl (the audit events up to the head attestation.json quotes, one per line
in the form their hashes cover), report.md, report.html, and SHA256SUMS over them;
with --sign-key (a PEM private key: ECDSA, RSA or Ed25519) also SHA256SUMS.sig and
signer.pub.pem.

The export is refused when the audit trail does not chain, or when a governance
value (owner, review date, exception, campaign decision) is not what the trail
records; --allow-unverified exports anyway and the bundle says UNVERIFIED.

Check it without certgov:
  sha256sum -c SHA256SUMS
  openssl dgst -sha256 -verify signer.pub.pem -signature SHA256SUMS.sig SHA256SUMS      # ECDSA, RSA
  openssl pkeyutl -verify -pubin -inkey signer.pub.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig   # Ed25519
  and the audit chain with the README's python3 recipe.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (campaign == "") == !inventory || out == "" {
				return usageError{errors.New("export needs --out and one of --campaign NAME or --inventory")}
			}
			var key crypto.Signer
			if signKey != "" {
				var err error
				if key, err = readSigningKey(signKey); err != nil {
					return err
				}
			}
			policy, err := loadPolicy(policyFile)
			if err != nil {
				return err
			}
			fileMode, err := parseFileMode(mode)
			if err != nil {
				return usageError{err}
			}
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				files, err := evidence.Export(cmd.Context(), s, evidence.Options{Dir: out, Campaign: campaign, SignKey: key, Policy: policy,
					Actor: a.actor(), Now: time.Now(), Since: since, FileMode: fileMode, AllowUnverified: allowUnverified})
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), model.Printable(fmt.Sprintf("wrote %d files to %s: %v", len(files), out, files)))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&campaign, "campaign", "", "the campaign to export")
	cmd.Flags().BoolVar(&inventory, "inventory", false, "export the current inventory and findings instead")
	cmd.Flags().StringVar(&out, "out", "", "folder to write the bundle to")
	cmd.Flags().StringVar(&signKey, "sign-key", "", "PEM private key to sign SHA256SUMS with")
	cmd.Flags().StringVar(&policyFile, "policy", "", "policy file for the findings")
	cmd.Flags().Int64Var(&since, "since", 0, "start audit.jsonl at this event (its prev_hash is quoted); default: the first")
	cmd.Flags().StringVar(&mode, "mode", "0600", "mode of the bundle's files (0600, 0640 or 0644; the folder gets the matching search bits)")
	cmd.Flags().BoolVar(&allowUnverified, "allow-unverified", false, "export although the audit trail does not explain every governance value (the bundle says so)")
	return cmd
}

// parseFileMode reads --mode: an octal mode that its owner may read and
// write and nobody else may write.
func parseFileMode(s string) (os.FileMode, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m&0o600 != 0o600 || m&^0o644 != 0 {
		return 0, fmt.Errorf("--mode %q: want an octal mode such as 0600, 0640 or 0644 (owner read-write, others at most read)", s)
	}
	return os.FileMode(m), nil
}

// readSigningKey reads a PEM private key (PKCS#8, PKCS#1 or SEC 1). The key
// is used to sign and never written anywhere.
func readSigningKey(path string) (crypto.Signer, error) {
	data, err := importers.ReadBounded(path, smallFileLimit)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	key, err := importers.ParsePrivateKey(block)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: %T cannot sign", path, key)
	}
	// Evidence outlives the key's strength: nothing weaker than RSA-2048
	// or P-256 signs it.
	switch k := signer.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("%s: RSA-%d is too weak to sign evidence (at least RSA-2048)", path, k.N.BitLen())
		}
	case *ecdsa.PrivateKey:
		if k.Curve.Params().BitSize < 256 {
			return nil, fmt.Errorf("%s: %s is too weak to sign evidence (at least P-256)", path, k.Curve.Params().Name)
		}
	}
	return signer, nil
}

func newVerifyCommand(a *app) *cobra.Command {
	var pubkey string
	var requireSignature bool
	cmd := &cobra.Command{
		Use:   "verify DIR [--pubkey PEM]",
		Short: "Check an evidence bundle: sums, signature, schema",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var pub []byte
			if pubkey != "" {
				var err error
				if pub, err = importers.ReadBounded(pubkey, smallFileLimit); err != nil {
					return err
				}
			}
			checked, err := evidence.VerifyBundle(cmd.Context(), args[0], pub, requireSignature)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			for _, c := range checked {
				fmt.Fprintln(cmd.OutOrStdout(), model.Printable(c))
			}
			fmt.Fprintln(cmd.OutOrStdout(), "bundle verified")
			return nil
		},
	}
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "the signer's public key (PEM), as published; default: the bundle's own")
	cmd.Flags().BoolVar(&requireSignature, "require-signature", false, "fail when the bundle is not signed (implied by --pubkey)")
	return cmd
}
