package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"certgov/importers"
	"certgov/model"
	"certgov/store"
)

func newExportCommand(a *app) *cobra.Command {
	var campaign, out, signKey, policyFile string
	var inventory bool
	cmd := &cobra.Command{
		Use:   "export (--campaign NAME | --inventory) --out DIR [--sign-key KEY.pem]",
		Short: "Write an evidence bundle an auditor can check with sha256sum and openssl",
		Long: `Write an evidence bundle: attestation.json (with its JSON Schema), attestation.csv,
report.md, report.html, and SHA256SUMS over them; with --sign-key (a PEM private
key: ECDSA, RSA or Ed25519) also SHA256SUMS.sig and signer.pub.pem.

Check it without certgov:
  sha256sum -c SHA256SUMS
  openssl dgst -sha256 -verify signer.pub.pem -signature SHA256SUMS.sig SHA256SUMS      # ECDSA, RSA
  openssl pkeyutl -verify -pubin -inkey signer.pub.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig   # Ed25519`,
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
			return a.withStore(cmd.Context(), func(s *store.Store) error {
				files, err := s.Export(cmd.Context(), store.ExportOptions{Dir: out, Campaign: campaign, SignKey: key, Policy: policy, Actor: a.actor(), Now: time.Now()})
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
	return cmd
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
			checked, err := store.VerifyBundle(cmd.Context(), args[0], pub, requireSignature)
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
