package store

import (
	"context"
	"database/sql"
)

// migrations bring the schema from version N to N+1, each entry in every
// dialect's terms: SQLite's (its PRAGMA user_version) and PostgreSQL's
// (certgov_schema). Versions mean the same schema in both. PostgreSQL
// starts at its baseline, version 9, whose entry creates the whole schema
// of that version at once (postgresSchema): SQLite's earlier steps (a
// rekey, rebuilt tables) are history PostgreSQL never had, so its part of
// versions 1 to 8 is empty. Append only: never edit a migration that
// landed.
var migrations = []migration{
	// 1: certificates, identities, sources and private key facts.
	{
		sqlite: migrationStep{sql: `
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE identities (
	id           INTEGER PRIMARY KEY,
	identity_key TEXT NOT NULL,
	-- The first 16 bytes of SHA-256(identity_key): a unique index on the
	-- hash is a fifth the size of one on the key and makes imports faster.
	key_hash     BLOB NOT NULL UNIQUE,
	name         TEXT NOT NULL,
	created_at   INTEGER NOT NULL
);
CREATE INDEX identities_name ON identities(name COLLATE NOCASE);

CREATE TABLE certificates (
	fingerprint_sha256  TEXT PRIMARY KEY,
	fingerprint_sha1    TEXT NOT NULL,
	spki_sha256         TEXT NOT NULL,
	subject             TEXT NOT NULL,
	subject_normalized  TEXT NOT NULL,
	issuer              TEXT NOT NULL,
	-- Compared with CA subjects and CRL issuers: normalised once here.
	issuer_normalized   TEXT NOT NULL,
	common_name         TEXT NOT NULL,
	serial              TEXT NOT NULL,
	not_before          INTEGER NOT NULL,
	not_after           INTEGER NOT NULL,
	key_algorithm       TEXT NOT NULL,
	key_size            INTEGER NOT NULL,
	key_curve           TEXT NOT NULL,
	signature_algorithm TEXT NOT NULL,
	sans                TEXT NOT NULL,
	key_usage           TEXT NOT NULL,
	ext_key_usage       TEXT NOT NULL,
	is_ca               INTEGER NOT NULL,
	self_issued         INTEGER NOT NULL,
	self_signed         INTEGER NOT NULL,
	subject_key_id      TEXT NOT NULL,
	authority_key_id    TEXT NOT NULL,
	identity_id         INTEGER NOT NULL REFERENCES identities(id),
	der                 BLOB NOT NULL,
	first_seen          INTEGER NOT NULL
);
CREATE INDEX certificates_identity ON certificates(identity_id);

CREATE TABLE imports (
	id          INTEGER PRIMARY KEY,
	started_at  INTEGER NOT NULL,
	finished_at INTEGER,
	summary     TEXT
);

-- One row per content version of a file. When a file changes, the older
-- version is kept with superseded_at set: what a file used to hold is
-- evidence too.
CREATE TABLE sources (
	id                INTEGER PRIMARY KEY,
	path              TEXT NOT NULL,
	kind              TEXT NOT NULL,
	content_sha256    TEXT NOT NULL,
	size              INTEGER NOT NULL,
	imported_at       INTEGER NOT NULL,
	import_id         INTEGER REFERENCES imports(id),
	certificate_count INTEGER NOT NULL,
	-- Files with problems are read again on every import, so that their
	-- problems are reported again rather than hidden as "unchanged".
	problem_count     INTEGER NOT NULL,
	superseded_at     INTEGER,
	UNIQUE (path, content_sha256)
);

CREATE TABLE certificate_sources (
	fingerprint_sha256 TEXT NOT NULL REFERENCES certificates(fingerprint_sha256),
	source_id          INTEGER NOT NULL REFERENCES sources(id),
	location           TEXT NOT NULL,
	PRIMARY KEY (fingerprint_sha256, source_id, location)
) WITHOUT ROWID;

-- The fact that a private key lies in a file; never the key.
CREATE TABLE private_keys (
	id          INTEGER PRIMARY KEY,
	source_id   INTEGER NOT NULL REFERENCES sources(id),
	location    TEXT NOT NULL,
	key_type    TEXT NOT NULL,
	spki_sha256 TEXT NOT NULL,
	UNIQUE (source_id, location)
);
CREATE INDEX private_keys_spki ON private_keys(spki_sha256);
`},
	},
	// 2: trust entries, as trust configurations state them.
	{
		sqlite: migrationStep{sql: `
CREATE TABLE trust_entries (
	id             INTEGER PRIMARY KEY,
	source_id      INTEGER NOT NULL REFERENCES sources(id),
	kind           TEXT NOT NULL,
	value          TEXT NOT NULL,
	hash_algorithm TEXT NOT NULL,
	san_type       TEXT NOT NULL,
	match          TEXT NOT NULL,
	label          TEXT NOT NULL,
	location       TEXT NOT NULL
);
CREATE INDEX trust_entries_source ON trust_entries(source_id);

-- Which trusted CAs each certificate's chain verifies to, remembered for
-- the set of CA certificates it was checked against (ca_set): checking a
-- chain costs a signature verification.
CREATE TABLE crls (
	id                INTEGER PRIMARY KEY,
	source_id         INTEGER NOT NULL REFERENCES sources(id),
	issuer            TEXT NOT NULL,
	issuer_normalized TEXT NOT NULL,
	this_update       INTEGER NOT NULL,
	next_update       INTEGER NOT NULL,
	location          TEXT NOT NULL,
	der               BLOB NOT NULL
);
CREATE INDEX crls_source ON crls(source_id);

CREATE TABLE revocations (
	crl_id     INTEGER NOT NULL REFERENCES crls(id),
	serial     TEXT NOT NULL,
	revoked_at INTEGER NOT NULL,
	PRIMARY KEY (crl_id, serial)
) WITHOUT ROWID;

-- What inventory spreadsheets say of certificates: governance values,
-- attributed to the file they came from.
CREATE TABLE governance_values (
	id                 INTEGER PRIMARY KEY,
	source_id          INTEGER NOT NULL REFERENCES sources(id),
	fingerprint_sha256 TEXT NOT NULL,
	owner              TEXT NOT NULL,
	expires_at         INTEGER,
	notes              TEXT NOT NULL,
	location           TEXT NOT NULL
);
CREATE INDEX governance_values_source ON governance_values(source_id);

CREATE TABLE chain_anchors (
	fingerprint_sha256 TEXT PRIMARY KEY,
	ca_set             TEXT NOT NULL,
	anchors            TEXT NOT NULL
) WITHOUT ROWID;
`},
	},
	// 3: governance decisions and the audit trail.
	{
		sqlite: migrationStep{sql: `
ALTER TABLE identities ADD COLUMN owner TEXT;
ALTER TABLE identities ADD COLUMN expires_at INTEGER;

-- Decisions on self-signed certificates, newest last; the current one for
-- a certificate is its latest row.
CREATE TABLE exceptions (
	id                 INTEGER PRIMARY KEY,
	identity_id        INTEGER NOT NULL REFERENCES identities(id),
	fingerprint_sha256 TEXT NOT NULL,
	state              TEXT NOT NULL CHECK (state IN ('approved', 'rejected', 'revoked')),
	reason             TEXT NOT NULL,
	until              INTEGER,
	decided_by         TEXT NOT NULL,
	decided_at         INTEGER NOT NULL
);
CREATE INDEX exceptions_fingerprint ON exceptions(fingerprint_sha256, id);

-- The audit trail: append-only, each event chained to the one before by
-- hash = SHA-256(prev_hash || canonical encoding).
CREATE TABLE audit_events (
	seq         INTEGER PRIMARY KEY,
	at          INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	action      TEXT NOT NULL,
	identity    TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	before      TEXT NOT NULL,
	after       TEXT NOT NULL,
	reason      TEXT NOT NULL,
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL
);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
`},
	},
	// 4: attestation campaigns.
	{
		sqlite: migrationStep{sql: `
CREATE TABLE campaigns (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	scope      TEXT NOT NULL,
	due        INTEGER,
	started_at INTEGER NOT NULL,
	started_by TEXT NOT NULL,
	closed_at  INTEGER,
	closed_by  TEXT
);
-- One open campaign per name; closed ones keep their name.
CREATE UNIQUE INDEX campaigns_open_name ON campaigns(name) WHERE closed_at IS NULL;

CREATE TABLE campaign_items (
	campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
	identity_id INTEGER NOT NULL REFERENCES identities(id),
	identity    TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	snapshot    TEXT NOT NULL,
	decision    TEXT NOT NULL DEFAULT '',
	comment     TEXT NOT NULL DEFAULT '',
	reviewer    TEXT NOT NULL DEFAULT '',
	decided_at  INTEGER,
	PRIMARY KEY (campaign_id, identity_id)
) WITHOUT ROWID;
`},
	},
	// 5: trust as the gateways decide it. Name rules are scoped to their
	// server; certificates Go refuses are kept with the reason; sources
	// remember which reader version read them, so that files read by an
	// older one are read again; identities split by issuer (or key, for
	// self-signed ones), which rekeyIdentities does after this SQL; the
	// linked state of every certificate is stored (linked.go), with the
	// certificate's facts, in the order reads walk them.
	{
		sqlite: migrationStep{sql: `
ALTER TABLE trust_entries ADD COLUMN scope TEXT NOT NULL DEFAULT '';
ALTER TABLE trust_entries ADD COLUMN all_of INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN malformed TEXT NOT NULL DEFAULT '';
ALTER TABLE sources ADD COLUMN reader_version INTEGER NOT NULL DEFAULT 1;
CREATE INDEX certificates_issuer ON certificates(issuer_normalized);
DELETE FROM chain_anchors;

CREATE TABLE linked (
	identity_name       TEXT NOT NULL COLLATE NOCASE,
	identity_key        TEXT NOT NULL,
	not_after           INTEGER NOT NULL,
	fingerprint_sha256  TEXT NOT NULL,
	fingerprint_sha1    TEXT NOT NULL,
	spki_sha256         TEXT NOT NULL,
	subject             TEXT NOT NULL,
	subject_normalized  TEXT NOT NULL,
	issuer              TEXT NOT NULL,
	issuer_normalized   TEXT NOT NULL,
	common_name         TEXT NOT NULL,
	serial              TEXT NOT NULL,
	not_before          INTEGER NOT NULL,
	key_algorithm       TEXT NOT NULL,
	key_size            INTEGER NOT NULL,
	key_curve           TEXT NOT NULL,
	signature_algorithm TEXT NOT NULL,
	sans                TEXT NOT NULL,
	key_usage           TEXT NOT NULL,
	ext_key_usage       TEXT NOT NULL,
	is_ca               INTEGER NOT NULL,
	self_issued         INTEGER NOT NULL,
	self_signed         INTEGER NOT NULL,
	subject_key_id      TEXT NOT NULL,
	authority_key_id    TEXT NOT NULL,
	malformed           TEXT NOT NULL,
	state               BLOB NOT NULL,
	PRIMARY KEY (identity_name, identity_key, not_after, fingerprint_sha256)
) WITHOUT ROWID;
CREATE UNIQUE INDEX linked_fingerprint ON linked(fingerprint_sha256);
CREATE TABLE linked_summary (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version TEXT NOT NULL,
	summary TEXT NOT NULL
);
`, after: rekeyIdentities},
	},
	// 6: the linked read table keeps each certificate's facts as one
	// binary value (facts.go): reads fetched 25 columns a row. Open
	// rebuilds its rows. Imports note the sources they add, supersede or
	// restore in relink_pending, in the transactions that change them, so
	// that relinking after an import, even one killed halfway, touches
	// only what those sources hold. current_periods says when each
	// certificate is current, for the dashboard's first page.
	{
		sqlite: migrationStep{sql: `
CREATE INDEX certificate_sources_source ON certificate_sources(source_id);
CREATE TABLE relink_pending (source_id INTEGER PRIMARY KEY);
-- When each certificate is its identity's current one (model.CurrentPeriods):
-- the current certificates at any moment are a range query, in expiry order.
CREATE TABLE current_periods (
	identity_name      TEXT NOT NULL COLLATE NOCASE,
	identity_key       TEXT NOT NULL,
	fingerprint_sha256 TEXT NOT NULL,
	not_after          INTEGER NOT NULL,
	period_from        INTEGER NOT NULL,
	period_until       INTEGER NOT NULL
);
CREATE INDEX current_periods_expiry ON current_periods(not_after);
CREATE INDEX current_periods_identity ON current_periods(identity_key);
-- Reads load reviewers' owners and review dates: few identities have them.
CREATE INDEX identities_governed ON identities(id) WHERE owner IS NOT NULL OR expires_at IS NOT NULL;
DROP TABLE linked;
CREATE TABLE linked (
	id                 INTEGER PRIMARY KEY,
	identity_name      TEXT NOT NULL COLLATE NOCASE,
	identity_key       TEXT NOT NULL,
	not_after          INTEGER NOT NULL,
	fingerprint_sha256 TEXT NOT NULL,
	facts              BLOB NOT NULL,
	state              BLOB NOT NULL
);
-- Rows are large, so the table keeps its rowid: a full relink writes them
-- in the order reads walk them, and the index gives that order.
CREATE UNIQUE INDEX linked_order ON linked(identity_name, identity_key, not_after, fingerprint_sha256);
CREATE UNIQUE INDEX linked_fingerprint ON linked(fingerprint_sha256);
DELETE FROM linked_summary;
`},
	},
	// 7: events say who really ran the command (the OS user and host,
	// beside the --as name) and name their campaign; their format says
	// which canonical form their hash covers (Event.canonical), so that
	// older events keep their hashes. A campaign keeps the statement its
	// closer gave.
	{
		sqlite: migrationStep{sql: `
ALTER TABLE audit_events ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_events ADD COLUMN campaign TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN os_user TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN closed_statement TEXT NOT NULL DEFAULT '';
`},
	},
	// 8: one public key in several identities (key-reuse) is found from
	// this index alone.
	{
		sqlite: migrationStep{sql: `
CREATE INDEX certificates_spki ON certificates(spki_sha256, identity_id);
`},
	},
	// 9: on a team database (PostgreSQL) an event's actor is the database
	// login; the name a change was made for (--as) is kept beside it.
	{
		sqlite: migrationStep{sql: `
ALTER TABLE audit_events ADD COLUMN on_behalf_of TEXT NOT NULL DEFAULT '';
`},
		postgres: migrationStep{sql: postgresSchema},
	},
	// 10: PostgreSQL's triggers check what the client promises
	// (postgresGuards). A SQLite file is one person's: it gets the index
	// four eyes reads a certificate's events by.
	{
		sqlite: migrationStep{sql: `
CREATE INDEX audit_events_fingerprint ON audit_events(fingerprint);
`},
		postgres: migrationStep{sql: postgresGuards, after: fillConfusables},
	},
	// 11: servers are first-class: each configuration's servers (nginx
	// server blocks…) with their verification policy, as model.Server in
	// JSON; their trust entries are those of the same source and scope.
	// Chains are verified again: their ends now say how deep they are.
	{
		sqlite: migrationStep{sql: `
CREATE TABLE servers (
	id        INTEGER PRIMARY KEY,
	source_id INTEGER NOT NULL REFERENCES sources(id),
	scope     TEXT NOT NULL,
	doc       TEXT NOT NULL
);
CREATE INDEX servers_source ON servers(source_id);
DELETE FROM chain_anchors;
`},
		postgres: migrationStep{sql: postgresServers},
	},
	// 12: the dashboard's first page (EachSoonestExpiring) is read in
	// index order and stops at its limit: with the expiry alone indexed,
	// every identity that expires at the same instant as the last one of
	// the page was read and sorted by name first (18,520 at a million).
	{
		sqlite:   migrationStep{sql: currentPeriodsOrder},
		postgres: migrationStep{sql: currentPeriodsOrder},
	},
	// 13: current periods name their identity by its key hash (as
	// identities does), not by its key (125 bytes in a generated estate)
	// and certificate fingerprint: the table and its two indexes held
	// three copies of both, 740 bytes per certificate. In SQLite the
	// table is ordered as the first page reads it. The chain cache keeps
	// each distinct result once (the certificates of a CA share theirs):
	// it held the same JSON for each certificate, 200 bytes each.
	{
		sqlite:   migrationStep{sql: periodsAndChainResults + currentPeriodsByHash, after: moveChainResults},
		postgres: migrationStep{sql: postgresPeriodsByHash, after: moveChainResults},
	},
	// 14: PostgreSQL finds the certificates a SHA-1 pin names by index
	// (postgresPinMatchesNothing): without one, the planner may scan
	// every certificate for each pin.
	{
		sqlite:   migrationStep{unchanged: "SQLite's IN (subquery) indexes the fingerprints for the query that reads them"},
		postgres: migrationStep{sql: `CREATE INDEX certificates_sha1 ON certificates(fingerprint_sha1);`},
	},
	// 15: the linked read table names each certificate's identity by its
	// key hash, as identities and current_periods do: the key (125 bytes
	// in a generated estate) was held in the table and in its order index,
	// and reads derive it from the facts (model.IdentityKey). It keeps
	// fingerprints as their 32 bytes, not 64 hex digits, in the table and
	// in both indexes. Rows whose identity is gone are dropped, and the
	// next open relinks everything.
	{
		sqlite:   migrationStep{sql: linkedByHash},
		postgres: migrationStep{sql: postgresLinkedByHash},
	},
	// 16: a campaign item has a reviewer assigned to it (empty: anyone
	// may decide it), found by index for a reviewer's own items; a
	// reviewer's decisions of the last minute (separation of duties) are
	// counted by index, not by reading every item of the campaign.
	// PostgreSQL's item check lets only that reviewer decide it, and only
	// the campaign's starter or the assigned reviewer reassign it.
	{
		sqlite:   migrationStep{sql: itemAssignee},
		postgres: migrationStep{sql: itemAssignee + postgresItemAssignee},
	},
	// 17: usage from the servers' access logs, aggregated per log file
	// version (a source), certificate (SHA-1, as nginx logs it), day and
	// verification outcome; and what each log read covered.
	{
		sqlite:   migrationStep{sql: usageTables},
		postgres: migrationStep{sql: postgresUsageTables},
	},
	// 18: usage keeps the client certificate's fingerprint as the server
	// logs it: SHA-1 (nginx, HAProxy) or SHA-256 (Envoy), by its length;
	// a log read keeps the format it was read in, so that of the servers
	// sharing a file only those writing that format have its evidence.
	{
		sqlite:   migrationStep{sql: clientFingerprint},
		postgres: migrationStep{sql: clientFingerprint},
	},
	// 19: usage keeps the server name a log's lines bear (HAProxy's
	// frontend, nginx's $server_name), so that servers sharing a log
	// each have their own lines' evidence.
	{
		sqlite:   migrationStep{sql: usageServer},
		postgres: migrationStep{sql: usageServer},
	},
}

const usageServer = `ALTER TABLE usage_days ADD COLUMN server TEXT NOT NULL DEFAULT '';`

const clientFingerprint = `
ALTER TABLE usage_days RENAME COLUMN fingerprint_sha1 TO client_fingerprint;
ALTER TABLE access_log_reads ADD COLUMN format TEXT NOT NULL DEFAULT '';
`

const usageTables = `
CREATE TABLE access_log_reads (
	source_id        INTEGER PRIMARY KEY REFERENCES sources(id),
	format_name      TEXT NOT NULL,
	lines            INTEGER NOT NULL,
	with_certificate INTEGER NOT NULL,
	unparsed         INTEGER NOT NULL,
	covers_from      INTEGER NOT NULL,
	covers_until     INTEGER NOT NULL
);
CREATE TABLE usage_days (
	source_id        INTEGER NOT NULL REFERENCES sources(id),
	fingerprint_sha1 TEXT NOT NULL,
	day              INTEGER NOT NULL,
	verified         INTEGER NOT NULL,
	count            INTEGER NOT NULL,
	first_seen       INTEGER NOT NULL,
	last_seen        INTEGER NOT NULL
);
CREATE INDEX usage_days_fingerprint ON usage_days(fingerprint_sha1);
CREATE INDEX usage_days_source ON usage_days(source_id);
`

const itemAssignee = `
ALTER TABLE campaign_items ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
CREATE INDEX campaign_items_assignee ON campaign_items(assignee, campaign_id);
CREATE INDEX campaign_items_pace ON campaign_items(campaign_id, reviewer, decided_at);
`

// linkedByHash is migration 15 in SQLite: a new table, written in the
// order reads walk it.
const linkedByHash = `
CREATE TABLE linked_by_hash (
	id                 INTEGER PRIMARY KEY,
	identity_name      TEXT NOT NULL COLLATE NOCASE,
	key_hash           BLOB NOT NULL,
	not_after          INTEGER NOT NULL,
	fingerprint_sha256 BLOB NOT NULL,
	facts              BLOB NOT NULL,
	state              BLOB NOT NULL
);
INSERT INTO linked_by_hash(identity_name, key_hash, not_after, fingerprint_sha256, facts, state)
	SELECT l.identity_name, i.key_hash, l.not_after, unhex(l.fingerprint_sha256), l.facts, l.state
	FROM linked l JOIN identities i ON i.identity_key = l.identity_key
	WHERE unhex(l.fingerprint_sha256) IS NOT NULL
	ORDER BY l.identity_name, i.key_hash, l.not_after, l.fingerprint_sha256;
DELETE FROM linked_summary WHERE (SELECT count(*) FROM linked) <> (SELECT count(*) FROM linked_by_hash);
DROP TABLE linked;
ALTER TABLE linked_by_hash RENAME TO linked;
CREATE UNIQUE INDEX linked_order ON linked(identity_name, key_hash, not_after, fingerprint_sha256);
CREATE UNIQUE INDEX linked_fingerprint ON linked(fingerprint_sha256);
`

// periodsAndChainResults are migration 13's new tables (postgresPeriodsByHash
// is the same in PostgreSQL's terms).
const periodsAndChainResults = `
CREATE TABLE current_periods_by_hash (
	not_after     INTEGER NOT NULL,
	identity_name TEXT NOT NULL COLLATE NOCASE,
	key_hash      BLOB NOT NULL,
	period_from   INTEGER NOT NULL,
	period_until  INTEGER NOT NULL,
	PRIMARY KEY (not_after, identity_name, key_hash, period_from)
) WITHOUT ROWID;
CREATE TABLE chain_results (
	id     INTEGER PRIMARY KEY,
	ca_set TEXT NOT NULL,
	chain  TEXT NOT NULL,
	-- A unique index on the hash: a PostgreSQL index entry holds 2.7 kB.
	chain_sha256 TEXT NOT NULL,
	UNIQUE (ca_set, chain_sha256)
);
CREATE TABLE chain_anchors_by_result (
	fingerprint_sha256 TEXT PRIMARY KEY,
	result             INTEGER NOT NULL REFERENCES chain_results(id)
) WITHOUT ROWID;
`

// currentPeriodsByHash fills the new periods table from the old one and
// takes its place. A period whose identity is gone is dropped: the next
// relink writes the periods of what the facts hold.
const currentPeriodsByHash = `
INSERT INTO current_periods_by_hash(not_after, identity_name, key_hash, period_from, period_until)
	SELECT DISTINCT p.not_after, p.identity_name, i.key_hash, p.period_from, p.period_until
	FROM current_periods p JOIN identities i ON i.identity_key = p.identity_key;
DROP TABLE current_periods;
ALTER TABLE current_periods_by_hash RENAME TO current_periods;
CREATE INDEX current_periods_identity ON current_periods(key_hash);
`

const currentPeriodsOrder = `
DROP INDEX current_periods_expiry;
CREATE INDEX current_periods_order ON current_periods(not_after, identity_name, identity_key);
`

// migration is one version's schema change, in each dialect's terms.
type migration struct {
	sqlite, postgres migrationStep
}

// moveChainResults moves the chain cache to one row per distinct result.
func moveChainResults(ctx context.Context, tx *sql.Tx) error {
	results, err := collect(ctx, tx, `SELECT DISTINCT ca_set, anchors FROM chain_anchors`, nil, func(rows *sql.Rows) ([2]string, error) {
		var r [2]string
		return r, rows.Scan(&r[0], &r[1])
	})
	if err != nil {
		return err
	}
	for _, r := range results {
		if _, err := tx.ExecContext(ctx, `INSERT INTO chain_results(ca_set, chain, chain_sha256) VALUES (?, ?, ?)`, r[0], r[1], chainSHA256(r[1])); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `
INSERT INTO chain_anchors_by_result(fingerprint_sha256, result)
	SELECT a.fingerprint_sha256, r.id FROM chain_anchors a JOIN chain_results r ON r.ca_set = a.ca_set AND r.chain = a.anchors;
DROP TABLE chain_anchors;
ALTER TABLE chain_anchors_by_result RENAME TO chain_anchors;`)
	return err
}
