package model_test

import (
	"encoding/json"
	"testing"

	"certgov/model"
)

// AppendJSON must write exactly what encoding/json writes, for every
// field and every kind of string a hostile file can carry.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	at := "2027-01-01T00:00:00Z"
	odd := []string{"", "plain", "quote\" back\\slash", "<script>&amp;</script>", "ctl\x00\x01\x1f\x7f\b\f\n\r\t", "bad utf8 \xff\xfe end",
		"line\u2028sep\u2029", "emoji 😀 é 中", "\u202eRTL", "\x1b[31mred\x1b[0m"}
	cache := &model.JSONCache{}
	for i, s := range odd {
		j := model.RecordJSON{
			FingerprintSHA256: s, FingerprintSHA1: s, SPKISHA256: s, Subject: s, Issuer: s, CommonName: model.OptionalString(s), Serial: s,
			NotBefore: s, NotAfter: s, KeyAlgorithm: s, KeySize: i * 1000, KeyCurve: s, SignatureAlgorithm: s,
			SelfSigned: i%2 == 0, SelfIssued: i%3 == 0, CA: i%4 == 0, BasicConstraintsCA: i%5 == 0, Malformed: s,
			SANs:     model.SANs{DNS: []string{s, s}, URI: []string{}, IP: nil, Email: []string{s}},
			KeyUsage: []string{s}, ExtKeyUsage: nil, SubjectKeyID: model.OptionalString(s), AuthorityKeyID: model.OptionalString(s), Identity: s, IdentityKey: s,
			Sources: []string{s}, Current: i%2 == 1, Findings: []string{}, TrustModel: s, Revoked: i%2 == 0, Owner: model.OptionalString(s),
		}
		if i%2 == 0 {
			j.Trust = []model.TrustRef{{Source: s, Kind: model.EntryKind(s), Entry: s, Location: s, Anchor: s, Explicit: true}, {Source: s}}
			j.ExpiresAt, j.LastSeen = &at, &at
			j.LogsCover = &model.LogsCoverJSON{From: s, Until: s}
			j.Exception = &model.ExceptionJSON{State: s, Reason: s, Until: s, DecidedBy: s, DecidedAt: s}
		}
		want, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		if got := j.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("string %q:\n got %s\nwant %s", s, got, want)
		}
		// Twice with a cache: filled, then read from.
		for range 2 {
			if got := j.AppendJSONCached(nil, cache); string(got) != string(want) {
				t.Errorf("string %q, cached:\n got %s\nwant %s", s, got, want)
			}
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2028", "<&>", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j := model.RecordJSON{Subject: s, Owner: model.OptionalString(s)}
		want, _ := json.Marshal(j)
		if got := j.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}

// BenchmarkAppendJSON encodes a record like those ls writes most: a
// CA-signed certificate trusted through several gateway configs.
func BenchmarkAppendJSON(b *testing.B) {
	ref := model.TrustRef{Source: "/srv/certgov/estate/gateways/gw-04/nginx.conf", Kind: "ca",
		Entry: "ssl_client_certificate bundle-a.pem (ssl_verify_client on)", Location: "line 83: ssl_client_certificate, server line 80",
		Anchor: "Scale Root CA A (sha256:d6dff994389a5719…)"}
	j := model.RecordJSON{FingerprintSHA256: "2a2c33121bf9eec68dfd5b5e20e0bd1cb09c8be0ab0b4ff609ab2d79f7387396",
		Subject: "CN=svc-000000.team-00.svc,OU=team-00,O=Scale Corp", Issuer: "CN=Scale Issuing CA 1,O=Scale Corp",
		SANs:  model.SANs{URI: []string{"spiffe://scale.example/ns/team-00/sa/svc-000000"}},
		Trust: []model.TrustRef{ref, ref, ref, ref, ref, ref, ref, ref, ref, ref}}
	buf := j.AppendJSON(nil)
	b.SetBytes(int64(len(buf)))
	for range b.N {
		buf = j.AppendJSON(buf[:0])
	}
}

// A finding's JSON is what encoding/json writes for its fields, with an
// absent owner null.
func TestFindingAppendJSONMatchesEncodingJSON(t *testing.T) {
	type mirror struct {
		Code              string   `json:"code"`
		Severity          string   `json:"severity"`
		FingerprintSHA256 string   `json:"fingerprint_sha256,omitempty"`
		Identity          string   `json:"identity,omitempty"`
		Owner             *string  `json:"owner"`
		Source            string   `json:"source,omitempty"`
		Location          string   `json:"location,omitempty"`
		Message           string   `json:"message"`
		Frameworks        []string `json:"frameworks"`
	}
	for _, s := range []string{"", "plain", "quote\" <b>&\x00\n", "bad \xff", "\u2028"} {
		for _, f := range []model.Finding{
			{Code: s, Severity: model.Severity(s), FingerprintSHA256: s, Identity: s, Owner: s, Source: s, Location: s, Message: s, Frameworks: []string{s, s}},
			{Code: s, Message: s},
		} {
			m := mirror{f.Code, string(f.Severity), f.FingerprintSHA256, f.Identity, nil, f.Source, f.Location, f.Message, f.Frameworks}
			if f.Owner != "" {
				m.Owner = &f.Owner
			}
			want, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.AppendJSON(nil); string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			if got, _ := json.Marshal(f); string(got) != string(want) {
				t.Errorf("encoding/json: got  %s\nwant %s", got, want)
			}
		}
	}
}
