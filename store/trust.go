package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"certgov/model"
	"certgov/model/trust"
)

// StoredEntry is a trust entry with the kind of file it comes from (the
// file itself is TrustEntry.Source).
type StoredEntry struct {
	model.TrustEntry
	ID         int64
	SourceKind string
}

// indexOf indexes entries, which must not change while the index is
// used. Entries that cannot be used were reported when they were
// imported.
func indexOf(entries []StoredEntry, servers []model.Server) *trust.Index {
	index, _ := trust.NewIndexOf(len(entries), func(i int) *model.TrustEntry { return &entries[i].TrustEntry }, servers)
	return index
}

// ref is the reference to this entry that an admitted certificate shows:
// the rule, and the place (where in the file, and which server there).
func (e *StoredEntry) ref(servers map[string]*model.Server) model.TrustRef {
	entry := e.Label
	if entry == "" {
		entry = e.Value
	}
	location := e.Location
	if e.Scope != "" {
		location = strings.TrimPrefix(location+", "+e.Scope, ", ")
	}
	ref := model.TrustRef{Source: e.Source, Kind: e.Kind, Entry: entry, Location: location}
	if srv := servers[e.Source+"\x00"+e.Scope]; srv != nil {
		ref.Server, ref.ServerKey = srv.Name(), srv.Key()
	}
	return ref
}

// Servers lists the servers of every current source, in the order of
// their sources' paths and of the files.
func (s *Store) Servers(ctx context.Context) ([]model.Server, error) {
	return collect(ctx, s.db, `SELECT s.path, v.doc FROM servers v JOIN sources s ON s.id = v.source_id
		WHERE s.superseded_at IS NULL ORDER BY s.path, v.id`, nil, func(rows *sql.Rows) (model.Server, error) {
		var path, doc string
		var srv model.Server
		if err := rows.Scan(&path, &doc); err != nil {
			return srv, err
		}
		if err := json.Unmarshal([]byte(doc), &srv); err != nil {
			return srv, fmt.Errorf("server of %s: %w", path, err)
		}
		srv.Source = path
		return srv, nil
	})
}

const entryQuery = `SELECT e.id, e.kind, e.value, e.hash_algorithm, e.san_type, e.match, e.label, e.location, e.scope, e.all_of, s.path, s.kind
		FROM trust_entries e JOIN sources s ON s.id = e.source_id
		WHERE s.superseded_at IS NULL`

// TrustEntries lists the entries of every current source.
func (s *Store) TrustEntries(ctx context.Context) ([]StoredEntry, error) {
	var out []StoredEntry
	err := s.eachRow(ctx, entryQuery+` ORDER BY s.path, e.id`, nil, func(rows *sql.Rows) error {
		return scanEntries(rows, func(e StoredEntry) { out = append(out, e) })
	})
	return out, err
}

// pinMatchesNothing is true of an entry that is a pin (fingerprint,
// registration, SPKI hash) outside an all-of scope whose value names no
// imported certificate: it admits nothing, whatever else holds. Linking
// leaves such pins out, so that a list of a million pins costs it only
// the pins that name a known certificate (a lookup each, by the
// certificates' keys) and a count of the others.
const pinMatchesNothing = `e.kind IN ('fingerprint', 'registered', 'spki') AND e.all_of = 0 AND NOT (CASE
		WHEN e.kind = 'spki' THEN e.value IN (SELECT spki_sha256 FROM certificates)
		WHEN e.hash_algorithm = 'sha1' THEN e.value IN (SELECT fingerprint_sha1 FROM certificates)
		ELSE e.value IN (SELECT fingerprint_sha256 FROM certificates) END)`

// postgresPinMatchesNothing is pinMatchesNothing as PostgreSQL runs it in
// time linear in the pins: an anti-join per kind of pin. There, an IN
// (subquery) within a CASE is a subplan, hashed only while the column fits
// in work_mem (4 MB by default); past that, as the fingerprints of 100,000
// certificates are, it scans every certificate for each pin: the relink
// of a 100,000-certificate import took 100-130 s instead of 27.
const postgresPinMatchesNothing = `e.kind IN ('fingerprint', 'registered', 'spki') AND e.all_of = 0
		AND NOT EXISTS (SELECT 1 FROM certificates c WHERE e.kind = 'spki' AND c.spki_sha256 = e.value)
		AND NOT EXISTS (SELECT 1 FROM certificates c WHERE e.kind <> 'spki' AND e.hash_algorithm = 'sha1' AND c.fingerprint_sha1 = e.value)
		AND NOT EXISTS (SELECT 1 FROM certificates c WHERE e.kind <> 'spki' AND e.hash_algorithm <> 'sha1' AND c.fingerprint_sha256 = e.value)`

// postgresLinkableEntries is the query of linkableEntries in PostgreSQL:
// the entries that are not pins (or are part of an all-of rule), then
// the pins of each kind that name a certificate, as semi-joins, for the
// reason given at postgresPinMatchesNothing. Ordered by path and id, as
// in SQLite (the 11th and 1st columns).
const postgresLinkableEntries = entryQuery + ` AND NOT (e.kind IN ('fingerprint', 'registered', 'spki') AND e.all_of = 0)
	UNION ALL ` + entryQuery + ` AND e.kind = 'spki' AND e.all_of = 0
		AND EXISTS (SELECT 1 FROM certificates c WHERE c.spki_sha256 = e.value)
	UNION ALL ` + entryQuery + ` AND e.kind IN ('fingerprint', 'registered') AND e.all_of = 0 AND e.hash_algorithm = 'sha1'
		AND EXISTS (SELECT 1 FROM certificates c WHERE c.fingerprint_sha1 = e.value)
	UNION ALL ` + entryQuery + ` AND e.kind IN ('fingerprint', 'registered') AND e.all_of = 0 AND e.hash_algorithm <> 'sha1'
		AND EXISTS (SELECT 1 FROM certificates c WHERE c.fingerprint_sha256 = e.value)
	ORDER BY 11, 1`

// pinMatchesNothingIn is the dialect's form of pinMatchesNothing.
func (s *Store) pinMatchesNothingIn() string {
	if s.Postgres() {
		return postgresPinMatchesNothing
	}
	return pinMatchesNothing
}

// linkableEntries lists the entries of every current source that may
// admit an imported certificate: all but the pins that match nothing.
func (s *Store) linkableEntries(ctx context.Context) ([]StoredEntry, error) {
	var out []StoredEntry
	query := entryQuery + ` AND NOT (` + pinMatchesNothing + `) ORDER BY s.path, e.id`
	if s.Postgres() {
		query = postgresLinkableEntries
	}
	err := s.eachRow(ctx, query, nil, func(rows *sql.Rows) error {
		return scanEntries(rows, func(e StoredEntry) { out = append(out, e) })
	})
	return out, err
}

// unmatchedPins are, per source path, the pins that match no imported
// certificate: the first few of them (up to model.MaxUnusedEntryFindings
// + 1, enough to list each or to say there are too many) and how many.
type unmatchedPins struct {
	first map[string][]StoredEntry
	count map[string]int
}

func (s *Store) unmatchedPins(ctx context.Context) (unmatchedPins, error) {
	out := unmatchedPins{first: map[string][]StoredEntry{}, count: map[string]int{}}
	// Counted first, then listed a file at a time: a window over every
	// pin sorts them all (6 s for 800,000).
	counts := map[int64]int{}
	err := s.eachRow(ctx, `SELECT e.source_id, count(*) FROM trust_entries e JOIN sources s ON s.id = e.source_id
		WHERE s.superseded_at IS NULL AND `+s.pinMatchesNothingIn()+` GROUP BY e.source_id`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			counts[id] = n
		}
		return rows.Err()
	})
	for _, id := range slices.Sorted(maps.Keys(counts)) {
		if err != nil {
			break
		}
		err = s.eachRow(ctx, entryQuery+` AND e.source_id = ? AND `+s.pinMatchesNothingIn()+` ORDER BY e.id LIMIT ?`,
			[]any{id, model.MaxUnusedEntryFindings + 1}, func(rows *sql.Rows) error {
				return scanEntries(rows, func(e StoredEntry) {
					out.first[e.Source] = append(out.first[e.Source], e)
					out.count[e.Source] = counts[id]
				})
			})
	}
	return out, err
}

// trustEntriesByID reads the given entries of current sources.
func (s *Store) trustEntriesByID(ctx context.Context, ids []string, fn func(StoredEntry)) error {
	return inChunks(ids, func(in string, args []any) error {
		return s.eachRow(ctx, entryQuery+` AND e.id IN `+in, args, func(rows *sql.Rows) error { return scanEntries(rows, fn) })
	})
}

func scanEntries(rows *sql.Rows, fn func(StoredEntry)) error {
	// What the entries of a file repeat (its path, the kind, the server
	// scope) is one string they share, not a copy each: a relink holds
	// every entry, and at a million certificates that was 117,872
	// entries, 111,000 of them pins.
	shared := map[string]string{}
	share := func(b sql.RawBytes) string {
		if s, ok := shared[string(b)]; ok {
			return s
		}
		s := string(b)
		shared[s] = s
		return s
	}
	var kind, hashAlgorithm, sanType, match, scope, source, sourceKind sql.RawBytes
	for rows.Next() {
		var e StoredEntry
		if err := rows.Scan(&e.ID, &kind, &e.Value, &hashAlgorithm, &sanType, &match, &e.Label, &e.Location, &scope, &e.AllOf, &source, &sourceKind); err != nil {
			return err
		}
		e.Kind, e.HashAlgorithm, e.SANType, e.Match = model.EntryKind(share(kind)), share(hashAlgorithm), share(sanType), share(match)
		e.Scope, e.Source, e.SourceKind = share(scope), share(source), share(sourceKind)
		fn(e)
	}
	return rows.Err()
}

// chainVersion changes whenever what a cached chain result means changes,
// so that results of an older certgov are never reused.
const chainVersion = "chains-v5"

// Chains is what chain verification found for the whole inventory.
type Chains struct {
	// byCertificate holds each certificate's verified chain ends, or why
	// none verified (Of), by binary fingerprint, sorted once every chain
	// is known (chainWork.seal). The certificates of one CA share one
	// chain (distinct). A million certificates are 40 MB here, without a
	// pointer for the collector to follow; as a map they took 48 MB, and
	// the list of chains to cache another 20 to 40.
	byCertificate []certChain
	// distinct keeps one copy of each distinct chain; shared finds it by
	// its key (set).
	distinct []*model.Chain
	shared   map[string]int32
	// AnchorNames names each anchor for people: "Example Root CA
	// (sha256:0a1b2c3d…)".
	AnchorNames map[string]string
	// Verified counts the chains verified now, not taken from the cache.
	Verified int
	// chainedNames maps the subject DN ("dn:…") and first URI SAN
	// ("uri:…") of CA-signed certificates with a verified chain to the
	// identity they belong to and the anchors their chains end at, to
	// recognise lookalikes: only the names that a certificate without
	// such a chain carries too (chainWork.sealNames).
	chainedNames map[nameKey]chainedName
}

// certChain is a certificate's chain: its index in Chains.distinct, and
// the result to cache when it was verified now (chainWork.results; -1:
// nothing to cache).
type certChain struct {
	cert   certKey
	chain  int32
	result int32
}

// certKey is a certificate's SHA-256 fingerprint in binary; nameKey the
// first 128 bits of the SHA-256 of a chained name ("dn:…", "uri:…").
type (
	certKey [sha256.Size]byte
	nameKey [16]byte
)

func certKeyOf(fingerprint string) certKey {
	var k certKey
	if n, err := hex.Decode(k[:], []byte(fingerprint)); err != nil || n != len(k) {
		// Not a fingerprint certgov wrote; still one key per value.
		k = sha256.Sum256([]byte(fingerprint))
	}
	return k
}

func nameKeyOf(name string) nameKey {
	sum := sha256.Sum256([]byte(name))
	return nameKey(sum[:16])
}

// Of is a certificate's chain: its verified ends, or why none verified.
func (ch *Chains) Of(fingerprint string) model.Chain {
	if i, ok := slices.BinarySearchFunc(ch.byCertificate, certKeyOf(fingerprint), compareCert); ok {
		return *ch.distinct[ch.byCertificate[i].chain]
	}
	return model.Chain{}
}

func compareCert(c certChain, key certKey) int { return bytes.Compare(c.cert[:], key[:]) }

// set records a certificate's chain, sharing one copy of equal chains,
// and the result to cache (-1: none). Each certificate is set once,
// while chainsOf runs.
func (ch *Chains) set(fingerprint string, chain model.Chain, result int32) {
	var key strings.Builder
	for _, e := range chain.Ends {
		fmt.Fprintf(&key, "%s/%t/%d/%t;", e.Anchor, e.Root, e.Depth, e.Weak)
	}
	key.WriteString(chain.Problem)
	n, ok := ch.shared[key.String()]
	if !ok {
		n = int32(len(ch.distinct))
		ch.distinct = append(ch.distinct, &model.Chain{Ends: slices.Clip(chain.Ends), Problem: chain.Problem})
		ch.shared[key.String()] = n
	}
	ch.byCertificate = append(ch.byCertificate, certChain{certKeyOf(fingerprint), n, result})
}

type chainedName struct {
	identity string
	anchors  []string
}

// chainsOf verifies, for client authentication, the chain of every
// certificate that could have one: certificates issued by an imported
// certificate, and self-signed ones listed as anchors. Every imported CA
// certificate may serve as an intermediate, as a client sends its chain.
// Each result is kept with a key naming the CA certificates and anchors
// its chain could go through (those above its issuer's name, caKeys), so
// only certificates whose possible issuers changed cost a signature
// verification, about one each (trust.ChainVerifier): a CA that arrives
// under another name changes no other certificate's key. It does so for
// the certificates in only (nil: all); the anchors are all named either
// way. keep: store what was verified in the cache; reads do not, so that
// no read writes.
func (s *Store) chainsOf(ctx context.Context, entries []StoredEntry, only map[string]bool, keep bool) (*Chains, error) {
	w := newChainWork(entries)
	if len(w.partial) == 0 {
		return w.out, nil
	}
	if err := w.loadCAs(ctx, s); err != nil {
		return nil, err
	}
	w.verifier, w.keep = trust.NewChainVerifier(w.anchors, w.intermediates, w.roots), keep
	if err := w.findCandidates(ctx, s, only); err != nil {
		return nil, err
	}
	if err := w.verifyTodo(ctx); err != nil {
		return nil, err
	}
	w.out.seal()
	if err := w.sealNames(ctx, s); err != nil {
		return nil, err
	}
	if !keep || len(w.results) == 0 {
		return w.out, nil
	}
	return w.out, s.cacheChains(ctx, w.out.byCertificate, w.results)
}

// seal sorts the chains by certificate, for Of and the cache.
func (ch *Chains) seal() {
	slices.SortFunc(ch.byCertificate, func(a, b certChain) int { return compareCert(a, b.cert) })
}

// verifyChunk is how many chains are verified at a time: an import's
// first relink verifies one a certificate, and holding a million
// candidates and their chains at once was most of its peak memory (a
// variable for the tests).
var verifyChunk = 8192

// verifyTodo verifies the chains of the candidates in todo, remembers
// them, notes them for the cache when it is kept, and empties todo.
func (w *chainWork) verifyTodo(ctx context.Context) error {
	if len(w.todo) == 0 {
		return nil
	}
	chains, err := verifyChains(ctx, w.verifier, w.todo)
	if err != nil {
		return err
	}
	for i, c := range w.todo {
		if chains[i] == nil { // not a certificate Go parses
			w.carries(c)
			continue
		}
		w.out.Verified++
		// The cache is keyed by the fingerprint's bytes; one certgov did
		// not write (never seen) is verified again next time.
		n := int32(-1)
		if w.keep && len(c.fp) == 2*sha256.Size && isLowerHex(c.fp) {
			doc, _ := json.Marshal(*chains[i])
			result := [2]string{c.key, string(doc)}
			var ok bool
			if n, ok = w.resultIndex[result]; !ok {
				n = int32(len(w.results))
				w.resultIndex[result] = n
				w.results = append(w.results, result)
			}
		}
		w.remember(c, *chains[i], n)
	}
	w.todo = w.todo[:0]
	return nil
}

// chainWork is chainsOf under way: the anchors and CA certificates a
// chain may go through, the certificates whose chains are still to be
// verified, and what was found.
type chainWork struct {
	out *Chains
	// partial holds the anchors' fingerprints: true for an anchor that
	// ends a chain where it stands (partial-chain), false for one that
	// must be a self-signed root.
	partial       map[string]bool
	anchors       []*x509.Certificate
	intermediates []*x509.Certificate
	roots         map[string]bool // self-signed anchors
	keys          caKeys
	// interned keeps one copy of each anchor fingerprint chain ends name,
	// not one per certificate.
	interned map[string]string
	// anchorSets keeps one copy of each list of anchors chains end at;
	// anchorLists numbers them.
	anchorSets  [][]string
	anchorLists map[string]int32
	// While chains are found, names holds the names (nameKey) of each
	// certificate with a verified CA-signed chain, with its identity and
	// the anchors its chain ends at, and carried those of the others.
	// sealNames keeps the chained names that are carried too.
	names   []nameEntry
	carried []nameKey
	// lastNamed is the last certificate whose names were listed: the
	// next one, a renewal of the same identity, usually repeats them.
	lastNamed struct {
		dn, uri  nameKey
		identity int64
		anchors  int32
	}
	// todo holds the candidates whose chains are still to be verified,
	// verifyChunk at most.
	todo     []chainCandidate
	verifier *trust.ChainVerifier
	// keep: chains verified now are cached (certChain.result); each
	// distinct result, a CA-set key and the chain's JSON, is one of
	// results.
	keep        bool
	results     [][2]string
	resultIndex map[[2]string]int32
}

// anchorsOf numbers the list of anchors chain ends at (anchorSets).
func (w *chainWork) anchorsOf(chain model.Chain) int32 {
	var ends []string
	for _, e := range chain.Ends {
		ends = append(ends, e.Anchor)
	}
	key := strings.Join(ends, ",")
	if n, ok := w.anchorLists[key]; ok {
		return n
	}
	n := int32(len(w.anchorSets))
	w.anchorSets = append(w.anchorSets, ends)
	w.anchorLists[key] = n
	return n
}

func newChainWork(entries []StoredEntry) *chainWork {
	w := &chainWork{
		out: &Chains{shared: map[string]int32{},
			AnchorNames: map[string]string{}, chainedNames: map[nameKey]chainedName{}},
		partial:     map[string]bool{},
		roots:       map[string]bool{},
		keys:        caKeys{bySubject: map[string][]caKey{}, memo: map[string]string{}},
		interned:    map[string]string{},
		anchorLists: map[string]int32{},
		resultIndex: map[[2]string]int32{},
	}
	for _, e := range entries {
		if e.Kind == model.EntryCA {
			w.partial[e.Value] = w.partial[e.Value] || e.Match == model.MatchPartialChain
		}
	}
	return w
}

// addCA adds a CA certificate or an anchor to the pool chains are built
// from.
func (w *chainWork) addCA(fp, subject, issuer, name string, der []byte, selfSigned bool) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return
	}
	key := caKey{fingerprint: fp, issuer: issuer, selfIssued: issuer == subject}
	// An anchor is an intermediate too, so that chains through a trusted
	// issuing CA reach the trusted root above it as well.
	w.intermediates = append(w.intermediates, c)
	isPartial, isAnchor := w.partial[fp]
	if isAnchor {
		w.out.AnchorNames[fp] = name + " (sha256:" + model.ShortFingerprint(fp) + "…)"
		if selfSigned {
			w.roots[fp] = true
		}
		if selfSigned || isPartial {
			w.anchors = append(w.anchors, c)
			key.role = "anchor"
			if isPartial {
				key.role = "partial anchor"
			}
		}
	}
	w.keys.bySubject[subject] = append(w.keys.bySubject[subject], key)
}

// loadCAs loads the CA certificates that issued imported ones, and every
// anchor.
func (w *chainWork) loadCAs(ctx context.Context, s *Store) error {
	// CA certificates that issued none of the imported ones cannot be in a
	// chain but as its anchor, and anchors are added below: at scale most
	// CA:TRUE certificates are `openssl req -x509` client certificates.
	loaded := map[string]bool{}
	err := s.eachRow(ctx, `SELECT c.fingerprint_sha256, c.subject_normalized, c.issuer_normalized, i.name, c.der, c.self_signed
		FROM certificates c JOIN identities i ON i.id = c.identity_id WHERE c.is_ca = 1
		AND EXISTS (SELECT 1 FROM certificates k WHERE k.issuer_normalized = c.subject_normalized AND k.self_issued = 0)
		ORDER BY 1`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var fp, subject, issuer, name string
			var der []byte
			var selfSigned bool
			if err := rows.Scan(&fp, &subject, &issuer, &name, &der, &selfSigned); err != nil {
				return err
			}
			loaded[fp] = true
			w.addCA(fp, subject, issuer, name, der, selfSigned)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	// Anchors without CA:TRUE: self-signed client certificates listed in
	// a CA file, truststore entries.
	for _, fp := range slices.Sorted(maps.Keys(w.partial)) {
		if loaded[fp] {
			continue
		}
		var subject, issuer, name string
		var der []byte
		var selfSigned bool
		err := s.db.QueryRowContext(ctx, `SELECT c.subject_normalized, c.issuer_normalized, i.name, c.der, c.self_signed
			FROM certificates c JOIN identities i ON i.id = c.identity_id WHERE c.fingerprint_sha256 = ?`, fp).Scan(&subject, &issuer, &name, &der, &selfSigned)
		if err != nil {
			continue // an entry whose certificate was not stored (unparsable)
		}
		w.addCA(fp, subject, issuer, name, der, selfSigned)
	}
	return nil
}

// nameEntry is a chained name (chainWork.names).
type nameEntry struct {
	key      nameKey
	identity int64
	anchors  int32
}

// carries notes the names of a certificate without a verified CA-signed
// chain: the lookalikes Mimics looks for are among these.
func (w *chainWork) carries(c chainCandidate) {
	for _, key := range []nameKey{c.nameDN, c.nameURI} {
		if key != (nameKey{}) {
			w.carried = append(w.carried, key)
		}
	}
}

// remember records c's chain and its result to cache (-1: none), and the
// names it carries (to recognise lookalikes).
func (w *chainWork) remember(c chainCandidate, chain model.Chain, result int32) {
	for i, e := range chain.Ends {
		if fp, ok := w.interned[e.Anchor]; ok {
			chain.Ends[i].Anchor = fp
		} else {
			w.interned[e.Anchor] = e.Anchor
		}
	}
	w.out.set(c.fp, chain, result)
	if c.selfIssued || !chain.Verified() || w.roots[c.fp] {
		w.carries(c)
		return
	}
	anchors := w.anchorsOf(chain)
	last := &w.lastNamed
	if c.nameDN == last.dn && c.nameURI == last.uri && c.identity == last.identity && anchors == last.anchors {
		return // the same names again: sealNames would find nothing new
	}
	last.dn, last.uri, last.identity, last.anchors = c.nameDN, c.nameURI, c.identity, anchors
	for _, key := range []nameKey{c.nameDN, c.nameURI} {
		if key != (nameKey{}) {
			w.names = append(w.names, nameEntry{key, c.identity, anchors})
		}
	}
}

// sealNames keeps, of the names of certificates with a verified chain,
// those a certificate without one carries too, with the identity that
// carries them (the last remembered) and every anchor their chains end
// at. A certificate can only mimic a chained name it carries without a
// chain to the same anchors (Mimics): at a million certificates every
// chained name was kept, a map of 64 MB plus the identities' names, and
// nearly every one was carried only by its own identity's certificates.
func (w *chainWork) sealNames(ctx context.Context, s *Store) error {
	names, carried := w.names, w.carried
	w.names, w.carried = nil, nil
	compareKeys := func(a, b nameKey) int { return bytes.Compare(a[:], b[:]) }
	slices.SortFunc(carried, compareKeys)
	// Stable: within a name, in the order remembered.
	slices.SortStableFunc(names, func(a, b nameEntry) int { return compareKeys(a.key, b.key) })
	identities := map[int64][]nameKey{}
	for len(names) > 0 {
		n := 1
		for n < len(names) && names[n].key == names[0].key {
			n++
		}
		group, key := names[:n], names[0].key
		names = names[n:]
		if _, ok := slices.BinarySearchFunc(carried, key, compareKeys); !ok {
			continue
		}
		var chained chainedName
		for _, e := range group {
			for _, a := range w.anchorSets[e.anchors] {
				if !slices.Contains(chained.anchors, a) {
					chained.anchors = append(chained.anchors, a)
				}
			}
		}
		w.out.chainedNames[key] = chained
		identity := group[len(group)-1].identity
		identities[identity] = append(identities[identity], key)
	}
	return inChunks(slices.Sorted(maps.Keys(identities)), func(in string, args []any) error {
		return s.eachRow(ctx, `SELECT id, name FROM identities WHERE id IN `+in, args, func(rows *sql.Rows) error {
			for rows.Next() {
				var id int64
				var name string
				if err := rows.Scan(&id, &name); err != nil {
					return err
				}
				for _, key := range identities[id] {
					chained := w.out.chainedNames[key]
					chained.identity = name
					w.out.chainedNames[key] = chained
				}
			}
			return rows.Err()
		})
	})
}

// findCandidates takes each certificate of only (nil: all) that could
// have a chain: from the cache when its possible issuers are unchanged,
// else onto todo.
func (w *chainWork) findCandidates(ctx context.Context, s *Store, only map[string]bool) error {
	// The distinct results, each decoded once: a CA's certificates share
	// theirs.
	type cachedResult struct {
		key   string
		chain model.Chain
	}
	cached := map[int64]cachedResult{}
	err := s.eachRow(ctx, `SELECT id, ca_set, chain FROM chain_results`, nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var id int64
			var key, doc string
			if err := rows.Scan(&id, &key, &doc); err != nil {
				return err
			}
			var chain model.Chain
			if json.Unmarshal([]byte(doc), &chain) == nil {
				cached[id] = cachedResult{key, chain}
			}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	consider := func(rows *sql.Rows) error {
		for rows.Next() {
			var c chainCandidate
			var issuer, subject, sans string
			var result int64
			var der sql.RawBytes // copied only for a chain to verify
			if err := rows.Scan(&c.fp, &issuer, &subject, &sans, &c.selfIssued, &c.identity, &result, &der); err != nil {
				return err
			}
			if subject != "" {
				c.nameDN = nameKeyOf("dn:" + subject)
			}
			if uri := firstURI(sans); uri != "" {
				c.nameURI = nameKeyOf("uri:" + uri)
			}
			_, isAnchor := w.partial[c.fp]
			if c.selfIssued && !isAnchor {
				w.carries(c) // no issuer to chain to, and not listed as its own anchor
				continue
			}
			c.key = w.keys.of(issuer)
			if r, ok := cached[result]; ok && r.key == c.key {
				w.remember(c, r.chain, -1)
				continue
			}
			if !c.selfIssued && len(w.keys.bySubject[issuer]) == 0 {
				w.out.set(c.fp, model.Chain{Problem: "its issuer is not among the imported certificates"}, -1)
				w.carries(c)
				continue
			}
			c.der = bytes.Clone(der)
			w.todo = append(w.todo, c)
			if len(w.todo) == verifyChunk {
				if err := w.verifyTodo(ctx); err != nil {
					return err
				}
			}
		}
		return rows.Err()
	}
	// With each its cached result, if any, and its DER: the scan reads
	// the row anyway, while fetching the DER of each chain to verify by
	// its fingerprint was a million lookups at random places at a
	// million certificates (10 s).
	const candidates = `SELECT c.fingerprint_sha256, c.issuer_normalized, c.subject_normalized, c.sans, c.self_issued, c.identity_id,
		coalesce(ca.result, 0), c.der
		FROM certificates c LEFT JOIN chain_anchors ca ON ca.fingerprint_sha256 = c.fingerprint_sha256`
	if only == nil {
		return s.eachRow(ctx, candidates, nil, consider)
	}
	return inChunks(slices.Sorted(maps.Keys(only)), func(in string, args []any) error {
		return s.eachRow(ctx, candidates+` WHERE c.fingerprint_sha256 IN `+in, args, consider)
	})
}

// cacheChains stores the chains just verified with the key of the CA
// certificates they could go through, for the next review. Each distinct
// result is stored once (chain_results) and each certificate names its
// own: the certificates of one CA share one.
func (s *Store) cacheChains(ctx context.Context, chains []certChain, results [][2]string) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	restore, err := s.dialect.tuneWriter(ctx, conn)
	if err != nil {
		return err
	}
	defer restore()
	tx, err := s.beginTxOn(ctx, conn)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insertResult, err := tx.PrepareContext(ctx, `INSERT INTO chain_results(ca_set, chain, chain_sha256) VALUES (?, ?, ?) ON CONFLICT (ca_set, chain_sha256) DO NOTHING`)
	if err != nil {
		return err
	}
	defer insertResult.Close()
	resultID, err := tx.PrepareContext(ctx, `SELECT id FROM chain_results WHERE ca_set = ? AND chain_sha256 = ?`)
	if err != nil {
		return err
	}
	defer resultID.Close()
	ids := make([]int64, len(results))
	for i, result := range results {
		hash := chainSHA256(result[1])
		if _, err := insertResult.ExecContext(ctx, result[0], result[1], hash); err != nil {
			return err
		}
		if err := resultID.QueryRowContext(ctx, result[0], hash).Scan(&ids[i]); err != nil {
			return err
		}
	}
	cache := newRowBatch(tx, `INSERT INTO chain_anchors(fingerprint_sha256, result)`, 2)
	cache.tail = ` ON CONFLICT (fingerprint_sha256) DO UPDATE SET result = excluded.result`
	// In fingerprint order (seal), the cache's rows are written page
	// after page (an import's first relink writes one per certificate),
	// not each at a random place of a table larger than the page cache.
	for _, c := range chains {
		if c.result < 0 {
			continue
		}
		if err := cache.add(ctx, hex.EncodeToString(c.cert[:]), ids[c.result]); err != nil {
			return err
		}
	}
	if err := cache.flush(ctx); err != nil {
		return err
	}
	// Results no certificate names any more (its CAs changed).
	if _, err := tx.ExecContext(ctx, `DELETE FROM chain_results WHERE id NOT IN (SELECT DISTINCT result FROM chain_anchors)`); err != nil {
		return err
	}
	return tx.Commit()
}

// chainSHA256 keys a stored chain result.
func chainSHA256(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(sum[:])
}

// chainCandidate is a certificate whose chain is to be verified.
type chainCandidate struct {
	fp, key    string
	identity   int64 // its identity's id
	selfIssued bool
	der        []byte
	// nameDN and nameURI key its subject DN and first URI SAN
	// (chainedNames); zero when it has none.
	nameDN, nameURI nameKey
}

// verifyChains verifies the candidates' chains on every core (a leaf
// costs one signature check, and an import's first relink has one per
// certificate); nil where the certificate does not parse.
func verifyChains(ctx context.Context, verifier *trust.ChainVerifier, todo []chainCandidate) ([]*model.Chain, error) {
	out := make([]*model.Chain, len(todo))
	jobs := make(chan int, 256)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				leaf, err := x509.ParseCertificate(todo[i].der)
				if err != nil {
					continue
				}
				chain := verifier.Verify(leaf)
				out[i] = &chain
			}
		}()
	}
	var err error
	for i := 0; i < len(todo) && err == nil; i++ {
		select {
		case jobs <- i:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	close(jobs)
	wg.Wait()
	return out, err
}

// eachRow runs query and hands its rows to fn, closing them after.
func (s *Store) eachRow(ctx context.Context, query string, args []any, fn func(*sql.Rows) error) error {
	return eachRowOf(ctx, s.db, query, args, fn)
}

// queryer is a database or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// collect runs query and scans every row into a T with scan: the one loop
// over a query's results, which closes the rows and checks their error.
func collect[T any](ctx context.Context, q queryer, query string, args []any, scan func(rows *sql.Rows) (T, error)) ([]T, error) {
	var out []T
	err := eachRowOf(ctx, q, query, args, func(rows *sql.Rows) error {
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}

// eachRowOf is eachRow on a given database or transaction.
func eachRowOf(ctx context.Context, q queryer, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return fn(rows)
}

// inChunks calls fn with "(?, ?, …)" and the values for each chunk of
// values, so that a query about many certificates stays within the
// database's limit on parameters.
func inChunks[T any](values []T, fn func(in string, args []any) error) error {
	const chunk = 500
	for len(values) > 0 {
		n := min(chunk, len(values))
		args := make([]any, n)
		for i, v := range values[:n] {
			args[i] = v
		}
		values = values[n:]
		if err := fn("(?"+strings.Repeat(", ?", n-1)+")", args); err != nil {
			return err
		}
	}
	return nil
}

// firstURI is the first URI SAN in the stored SAN JSON.
func firstURI(sans string) string {
	if !strings.Contains(sans, `"uri":["`) {
		return ""
	}
	if s, err := decodeSANs(sans); err == nil && len(s.URI) > 0 {
		return s.URI[0]
	}
	return ""
}

// caKey is what a chain result depends on about one CA certificate or
// anchor: which certificate, where its own chain goes, its role.
type caKey struct {
	fingerprint, issuer string
	selfIssued          bool
	role                string // "", "anchor", "partial anchor"
}

// caKeys names, for an issuer's name, every CA certificate and anchor a
// chain from a certificate it issued could go through: those with that
// subject, then those with their issuers' subjects, up to self-issued
// ones. A chain result is valid as long as this key is unchanged.
type caKeys struct {
	bySubject map[string][]caKey
	memo      map[string]string
}

func (k *caKeys) of(issuer string) string {
	if key, ok := k.memo[issuer]; ok {
		return key
	}
	var parts []string
	seen := map[string]bool{issuer: true}
	next := []string{issuer}
	for len(next) > 0 {
		subject := next[0]
		next = next[1:]
		for _, ca := range k.bySubject[subject] {
			parts = append(parts, ca.fingerprint+" "+ca.role)
			if !ca.selfIssued && !seen[ca.issuer] {
				seen[ca.issuer] = true
				next = append(next, ca.issuer)
			}
		}
	}
	slices.Sort(parts)
	sum := sha256.Sum256([]byte(chainVersion + "," + strings.Join(parts, ",")))
	key := hex.EncodeToString(sum[:16])
	k.memo[issuer] = key
	return key
}

// Mimics names the CA-signed identities whose subject DN or first URI SAN
// r carries while r's chain does not end at any of their anchors: a
// lookalike, which a name rule without a chain check would admit in their
// place.
func (ch *Chains) Mimics(r *model.Record) []string {
	if r.ActsAsCA {
		return nil
	}
	mine := ch.Of(r.FingerprintSHA256)
	var out []string
	for _, key := range []string{"dn:" + r.SubjectNormalized, "uri:" + first(r.SANs.URI)} {
		if key == "dn:" || key == "uri:" {
			continue
		}
		n, ok := ch.chainedNames[nameKeyOf(key)]
		if !ok || slices.Contains(out, n.identity) {
			continue
		}
		shares := false
		for _, e := range mine.Ends {
			shares = shares || slices.Contains(n.anchors, e.Anchor)
		}
		if !shares {
			out = append(out, n.identity)
		}
	}
	return out
}

func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

// ActingCAs lists the certificates that act as CAs: those that signed
// another imported certificate, and those that declare themselves CAs the
// way CAs do (CA:TRUE with keyCertSign). CA:TRUE alone is what `openssl
// req -x509` writes into every self-signed client certificate, so it does
// not count.
func (s *Store) ActingCAs(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	type candidate struct {
		fp, subject, ski string
		der              []byte
	}
	var todo []candidate
	// Two parts, and the issuers' names distinct: in one condition with
	// OR, PostgreSQL compared every certificate with the list of every
	// CA-signed certificate's issuer (it hashes a subquery only when its
	// rows fit in work_mem): 6.7 × 10¹¹ comparisons at a million.
	const columns = `c.fingerprint_sha256, c.subject_normalized, c.subject_key_id, c.is_ca, c.key_usage, c.der`
	rows, err := s.db.QueryContext(ctx, `SELECT `+columns+` FROM certificates c
		WHERE c.is_ca = 1 AND c.key_usage LIKE '%keyCertSign%'
		UNION ALL
		SELECT `+columns+` FROM certificates c
		WHERE NOT (c.is_ca = 1 AND c.key_usage LIKE '%keyCertSign%')
		  AND c.subject_normalized IN (SELECT DISTINCT issuer_normalized FROM certificates WHERE self_issued = 0)`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c candidate
		var isCA bool
		var keyUsage string
		if err := rows.Scan(&c.fp, &c.subject, &c.ski, &isCA, &keyUsage, &c.der); err != nil {
			rows.Close()
			return nil, err
		}
		if isCA && strings.Contains(keyUsage, `"keyCertSign"`) {
			out[c.fp] = true
			continue
		}
		todo = append(todo, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range todo {
		issuer, err := x509.ParseCertificate(c.der)
		if err != nil {
			continue
		}
		// A few children suffice: one that its key verifies proves it
		// issued; the key identifiers pick the likely ones first.
		children, err := s.db.QueryContext(ctx, `SELECT der FROM certificates WHERE issuer_normalized = ? AND fingerprint_sha256 <> ?
			ORDER BY (authority_key_id = ?) DESC LIMIT 4`, c.subject, c.fp, c.ski)
		if err != nil {
			return nil, err
		}
		for children.Next() {
			var der []byte
			if err := children.Scan(&der); err != nil {
				children.Close()
				return nil, err
			}
			if child, err := x509.ParseCertificate(der); err == nil && model.SignedBy(child, issuer.PublicKey) {
				out[c.fp] = true
				break
			}
		}
		children.Close()
		if err := children.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
