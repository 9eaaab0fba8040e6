package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"certgov/model"
	"certgov/store"
)

// SARIF (-o sarif) is SARIF 2.1.0 for code scanning in CI: one rule per
// finding code, one result per finding, located at the file (and line)
// that causes it: the configuration line of a server or a trust entry,
// or the file that holds the certificate. A sarifOutput gives the
// findings and, for certificate findings, the certificate's file.
type sarifOutput interface {
	eachSARIF(fn func(store.FoundFinding) error) error
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	ShortDescription     sarifText      `json:"shortDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// sarifLevel is the SARIF level of a severity, and sarifScore the
// security-severity code scanning ranks results by.
func sarifLevel(s model.Severity) (string, string) {
	switch s {
	case model.SeverityCritical:
		return "error", "9.5"
	case model.SeverityHigh:
		return "error", "8.0"
	case model.SeverityMedium:
		return "warning", "5.5"
	}
	return "note", "2.0"
}

func writeSARIF(w io.Writer, _ int, result any) error {
	r, ok := result.(sarifOutput)
	if !ok {
		return errors.New("this command has no SARIF form")
	}
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "certgov", InformationURI: "https://github.com/certgov/certgov"}}, Results: []sarifResult{}}
	index := map[string]int{}
	for _, code := range model.FindingCodes() {
		t := model.FindingTypes[code]
		level, score := sarifLevel(t.Severity)
		index[code] = len(run.Tool.Driver.Rules)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: code, ShortDescription: sarifText{Text: t.Title},
			Help:                 sarifText{Text: t.Title + ". See what certgov knows: certgov findings --filter finding:" + code + "; for one identity: certgov show IDENTITY."},
			DefaultConfiguration: map[string]any{"level": level},
			Properties:           map[string]any{"tags": slices.Concat([]string{"security"}, t.Frameworks), "security-severity": score}})
	}
	// The log is written around its results, which stream: everything
	// before the empty results array, each result, then the rest.
	doc, err := json.MarshalIndent(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}, "", "  ")
	if err != nil {
		return err
	}
	const emptyResults = `"results": []`
	at := bytes.Index(doc, []byte(emptyResults))
	indent := string(doc[bytes.LastIndexByte(doc[:at], '\n')+1 : at])
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(doc[:at+len(emptyResults)-1])
	cwd, _ := os.Getwd()
	count := 0
	err = r.eachSARIF(func(f store.FoundFinding) error {
		res, err := json.MarshalIndent(sarifResultOf(f, index, cwd), indent+"  ", "  ")
		if err != nil {
			return err
		}
		sep := ","
		if count == 0 {
			sep = ""
		}
		count++
		fmt.Fprintf(bw, "%s\n%s  %s", sep, indent, res)
		return nil
	})
	if err != nil {
		return err
	}
	if count > 0 {
		bw.WriteString("\n" + indent)
	}
	bw.Write(doc[at+len(emptyResults)-1:])
	bw.WriteString("\n")
	return bw.Flush()
}

// sarifResultOf is one finding as a SARIF result.
func sarifResultOf(f store.FoundFinding, index map[string]int, cwd string) sarifResult {
	level, _ := sarifLevel(f.Severity)
	res := sarifResult{RuleID: f.Code, RuleIndex: index[f.Code], Level: level, Message: sarifText{Text: model.Printable(f.Message)},
		PartialFingerprints: map[string]string{"certgov/v1": findingFingerprint(f.Finding)}}
	loc := sarifLocation{}
	if f.Identity != "" {
		kind := "resource"
		if f.FingerprintSHA256 == "" {
			kind = "module" // a server or a trust entry
		}
		loc.LogicalLocations = []sarifLogical{{Name: model.Printable(f.Identity), Kind: kind}}
	}
	if physical := sarifPhysicalOf(f, cwd); physical != nil {
		loc.PhysicalLocation = physical
	}
	if loc.PhysicalLocation != nil || loc.LogicalLocations != nil {
		res.Locations = []sarifLocation{loc}
	}
	props := map[string]any{}
	if f.Owner != "" {
		props["owner"] = model.Printable(f.Owner)
	}
	if f.FingerprintSHA256 != "" {
		props["fingerprint_sha256"] = f.FingerprintSHA256
	}
	if len(props) > 0 {
		res.Properties = props
	}
	return res
}

// findingFingerprint identifies a finding across runs, so that code
// scanning tracks it rather than reopening it: its code, what it is
// about, and where.
func findingFingerprint(f model.Finding) string {
	sum := sha256.Sum256([]byte(f.Code + "\x00" + f.FingerprintSHA256 + "\x00" + f.Identity + "\x00" + f.Source + "\x00" + f.Location))
	return hex.EncodeToString(sum[:16])
}

// locationLine finds the line of a finding's location: "api.conf:12",
// "line 12", "pg_hba.conf:4: ssl_ca_file".
var locationLine = regexp.MustCompile(`^(?:line (\d+)|(.+?):(\d+))(?::|$|,| )`)

// sarifPhysicalOf is where a finding points in the files: its source (a
// configuration) at the line its location names, resolved against the
// source's folder when the location names another file (an include); or
// the file of the certificate it is about. URIs are relative to the
// working folder when inside it (code scanning's checkout), else file:.
func sarifPhysicalOf(f store.FoundFinding, cwd string) *sarifPhysical {
	_, path := model.SplitSourceKey(f.Source)
	var region *sarifRegion
	if path != "" {
		if m := locationLine.FindStringSubmatch(f.Location); m != nil {
			line := m[1]
			if line == "" {
				line = m[3]
				if named := m[2]; filepath.Base(named) != filepath.Base(path) {
					path = filepath.Join(filepath.Dir(path), named)
				}
			}
			if n, err := strconv.Atoi(line); err == nil && n > 0 {
				region = &sarifRegion{StartLine: n}
			}
		}
	} else if f.CertificateFile != "" {
		_, path = model.SplitSourceKey(f.CertificateFile)
	}
	if path == "" {
		return nil
	}
	return &sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(path, cwd)}, Region: region}
}

// sarifURI is a file's URI: relative to cwd when inside it, else file:.
func sarifURI(path, cwd string) string {
	if cwd != "" {
		if rel, err := filepath.Rel(cwd, path); err == nil && !strings.HasPrefix(rel, "..") && !filepath.IsAbs(rel) {
			return (&url.URL{Path: filepath.ToSlash(rel)}).String()
		}
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}
