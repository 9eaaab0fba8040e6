package store

import (
	"context"
	"encoding/binary"
	"slices"

	"certgov/model"
)

// The linked state is what linking computes from the raw facts and what
// changes only when they do: each certificate's trust references and trust
// model, whether it acts as a CA, its chain, revocation, lookalike and
// unverified-match facts, and the findings about trust entries. Reindex
// stores it after every import, so that reads take it from the database
// instead of linking every certificate again. Owners, review dates and
// exceptions change with every decision and are applied at read time, as
// are findings that depend on the clock. A read that finds the state older
// than the facts (an import that was interrupted, a database from an
// older certgov) links from the raw facts instead, without writing.

// linkerVersion changes whenever linking changes what it computes, so that
// state stored by an older certgov is never read.
const linkerVersion = 9

// linkedState is one certificate's stored linked state. It is read for
// every certificate on every read, so it is kept small and binary:
// references name their entry by id and anchors by their index in the
// summary's anchor list (encodeState, decodeState).
type linkedState struct {
	Refs       []storedRef
	ActsAsCA   bool
	Revoked    string
	Ends       []model.ChainEnd
	Problem    string
	Unverified []string
	Mimics     []string
	Sources    []int64 // ids of the current sources that hold it
	Untried    int     // pattern rules not tried (Record.PatternRulesUntried)
}

// storedRef is a trust reference by entry id: the entry gives the rule and
// the place, the anchor's name comes from the summary.
type storedRef struct {
	Entry    int64
	Anchor   string
	Explicit bool
}

func stateOf(r *model.Record, refs []storedRef) linkedState {
	st := linkedState{Refs: refs, ActsAsCA: r.ActsAsCA, Ends: r.Chain.Ends, Problem: r.Chain.Problem,
		Unverified: r.MatchesWithoutChain, Mimics: r.Mimics, Untried: r.PatternRulesUntried}
	if r.Revoked {
		st.Revoked = r.RevokedBy
	}
	return st
}

// encodeState writes st with varints; anchors maps an anchor's fingerprint
// to its index + 1 (0: none).
func encodeState(st linkedState, anchors map[string]int) []byte {
	b := []byte{1} // format
	flags := byte(0)
	if st.ActsAsCA {
		flags = 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(st.Refs)))
	for _, r := range st.Refs {
		b = binary.AppendVarint(b, r.Entry)
		b = binary.AppendUvarint(b, uint64(anchors[r.Anchor]))
		b = append(b, boolByte(r.Explicit))
	}
	b = binary.AppendUvarint(b, uint64(len(st.Ends)))
	for _, e := range st.Ends {
		b = binary.AppendUvarint(b, uint64(anchors[e.Anchor]))
		b = append(b, boolByte(e.Root))
	}
	b = appendString(b, st.Problem)
	b = appendString(b, st.Revoked)
	for _, list := range [][]string{st.Unverified, st.Mimics} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, v := range list {
			b = appendString(b, v)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(st.Sources)))
	for _, id := range st.Sources {
		b = binary.AppendVarint(b, id)
	}
	return binary.AppendUvarint(b, uint64(st.Untried))
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// fieldReader reads what encodeState and encodeFacts wrote. It reads from
// a string, so that every string it returns shares the row's memory
// instead of being copied; a malformed value reads as bad rather than
// panicking.
type fieldReader struct {
	s   string
	bad bool
}

func (r *fieldReader) uvarint() uint64 {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if len(r.s) == 0 {
			break
		}
		c := r.s[0]
		r.s = r.s[1:]
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.bad, r.s = true, ""
	return 0
}

func (r *fieldReader) varint() int64 {
	u := r.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (r *fieldReader) byte() byte {
	if len(r.s) == 0 {
		r.bad = true
		return 0
	}
	v := r.s[0]
	r.s = r.s[1:]
	return v
}

func (r *fieldReader) string() string { return r.take(r.uvarint()) }

// take reads the next n bytes.
func (r *fieldReader) take(n uint64) string {
	if n > uint64(len(r.s)) {
		r.bad, r.s = true, ""
		return ""
	}
	v := r.s[:n]
	r.s = r.s[n:]
	return v
}

// count reads a list length, bounded by what is left to read.
func (r *fieldReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.bad, r.s = true, ""
		return 0
	}
	return int(n)
}

// strings reads a list of strings; nil when it is empty, as decoding the
// JSON columns gave.
func (r *fieldReader) strings() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	list := make([]string, 0, n)
	for ; n > 0 && !r.bad; n-- {
		list = append(list, r.string())
	}
	return list
}

func decodeState(b string, anchors []string) linkedState {
	r := &fieldReader{s: b}
	var st linkedState
	if r.byte() != 1 {
		return linkedState{}
	}
	anchor := func(i uint64) string {
		if i == 0 || i > uint64(len(anchors)) {
			return ""
		}
		return anchors[i-1]
	}
	st.ActsAsCA = r.byte() == 1
	for n := r.count(); n > 0 && !r.bad; n-- {
		st.Refs = append(st.Refs, storedRef{Entry: r.varint(), Anchor: anchor(r.uvarint()), Explicit: r.byte() == 1})
	}
	for n := r.count(); n > 0 && !r.bad; n-- {
		st.Ends = append(st.Ends, model.ChainEnd{Anchor: anchor(r.uvarint()), Root: r.byte() == 1})
	}
	st.Problem, st.Revoked = r.string(), r.string()
	for _, list := range []*[]string{&st.Unverified, &st.Mimics} {
		for n := r.count(); n > 0 && !r.bad; n-- {
			*list = append(*list, r.string())
		}
	}
	for n := r.count(); n > 0 && !r.bad; n-- {
		st.Sources = append(st.Sources, r.varint())
	}
	st.Untried = int(min(r.uvarint(), 1<<30))
	if r.bad {
		return linkedState{}
	}
	return st
}

// decodeLinkedState fills r from its stored state. It runs for every
// certificate on every read, so references come from templates made once
// per entry, and slices are sized before they are filled.
func (rv *Review) decodeLinkedState(state string, r *model.Record) {
	st := decodeState(state, rv.anchorList)
	r.Trust = make([]model.TrustRef, 0, len(st.Refs))
	for _, ref := range st.Refs {
		t, ok := rv.refTemplates[ref.Entry]
		if !ok {
			continue
		}
		t.Anchor, t.Explicit = rv.anchorNames[ref.Anchor], ref.Explicit
		r.Trust = append(r.Trust, t)
	}
	r.TrustModel = model.TrustModelOf(r.Trust)
	r.ActsAsCA, r.Chain = st.ActsAsCA, model.Chain{Ends: st.Ends, Problem: st.Problem}
	r.MatchesWithoutChain, r.Mimics, r.PatternRulesUntried = st.Unverified, st.Mimics, st.Untried
	r.Revoked, r.RevokedBy = st.Revoked != "", st.Revoked
	r.Sources = make([]string, 0, len(st.Sources))
	for _, id := range st.Sources {
		if path, ok := rv.sourcePaths[id]; ok {
			r.Sources = append(r.Sources, path)
		}
	}
	if len(r.Sources) > 1 {
		slices.Sort(r.Sources)
		r.Sources = slices.Compact(r.Sources)
	}
}

// loadSourcePaths loads the paths of the current sources, which stored
// states name by id.
func (rv *Review) loadSourcePaths(ctx context.Context) error {
	rows, err := rv.s.db.QueryContext(ctx, `SELECT id, path FROM sources WHERE superseded_at IS NULL`)
	if err != nil {
		return err
	}
	defer rows.Close()
	rv.sourcePaths = map[int64]string{}
	for rows.Next() {
		var id int64
		var path string
		if err := rows.Scan(&id, &path); err != nil {
			return err
		}
		rv.sourcePaths[id] = path
	}
	return rows.Err()
}
