package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"certgov/model"
)

// The roles of a team database. Logins are granted one of them; what each
// may do is in the grants below, and the audit trail is INSERT-only for
// all of them (no UPDATE, DELETE or TRUNCATE grant, and triggers refuse
// those to everyone).
const (
	RoleImporter = "certgov_importer" // imports and forgets sources
	RoleReviewer = "certgov_reviewer" // owners, review dates, exceptions, campaigns
	RoleAuditor  = "certgov_auditor"  // reads, verifies and exports; changes nothing
)

// inventoryTables are what imports write (and relinks recompute).
var inventoryTables = []string{"certificates", "imports", "sources", "certificate_sources", "private_keys", "trust_entries", "servers",
	"crls", "revocations", "governance_values", "chain_results", "chain_anchors", "linked", "linked_summary", "relink_pending", "current_periods",
	"access_log_reads", "usage_days"}

// TeamSetup is what certgov db init sets up: the logins given each role,
// and whether the database itself enforces four eyes.
type TeamSetup struct {
	Importers, Reviewers, Auditors []string
	FourEyes                       bool
	// DecisionsPerMinute, when set, makes the database refuse a campaign
	// decision without a comment from a reviewer who made that many in
	// the minute before, and a close by whoever made every decision
	// (model.SeparationOfDuties, refused).
	DecisionsPerMinute int
}

// InitPostgres creates or upgrades the schema of the PostgreSQL database
// at location, creates the three roles with their grants, grants each
// login its role (creating a login that does not exist, without a
// password) and records the four-eyes setting. It is run by an
// administrator (the owner of the schema) and may run again: every step
// is idempotent. It returns what it did, one line each.
func InitPostgres(ctx context.Context, location string, setup TeamSetup) ([]string, error) {
	config, err := parsePostgres(location)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(numberedConnector{stdlibConnector(config)})
	defer db.Close()
	d := &postgresDialect{config: config}
	s := &Store{db: db, path: RedactURL(location), dialect: d}
	if err := db.QueryRowContext(ctx, `SELECT session_user`).Scan(&d.session); err != nil {
		return nil, fmt.Errorf("database %s: %w", s.path, err)
	}
	before, err := s.migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", s.path, err)
	}
	// Only the schema's owner (or a superuser) administers it: a GRANT by
	// another login grants nothing, and PostgreSQL only warns.
	var owns bool
	if err := db.QueryRowContext(ctx, `SELECT pg_has_role(session_user, tableowner, 'MEMBER') FROM pg_tables
		WHERE schemaname = current_schema() AND tablename = 'certgov_schema'`).Scan(&owns); err != nil {
		return nil, fmt.Errorf("database %s: %w", s.path, err)
	}
	if !owns {
		return nil, &NotPermittedError{Login: s.Login(), Err: errors.New("db init is the schema owner's: an administrator runs it")}
	}
	var done []string
	switch {
	case before == 0:
		done = append(done, fmt.Sprintf("schema: created (version %d)", len(migrations)))
	case before < len(migrations):
		done = append(done, fmt.Sprintf("schema: upgraded from version %d to %d", before, len(migrations)))
	default:
		done = append(done, fmt.Sprintf("schema: up to date (version %d)", before))
	}
	tx, err := s.beginTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	granted, err := grantRoles(ctx, tx)
	if err != nil {
		return nil, err
	}
	done = append(done, granted...)
	given, err := grantLogins(ctx, tx, setup)
	if err != nil {
		return nil, err
	}
	done = append(done, given...)
	if setup.FourEyes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES ('four_eyes', 'on') ON CONFLICT(key) DO UPDATE SET value = excluded.value`); err != nil {
			return nil, err
		}
		done = append(done, "four_eyes: on (an owner may not approve or certify their own identity)")
	}
	if n := setup.DecisionsPerMinute; n > 0 {
		for key, value := range map[string]string{"sod_sole_closer": string(model.Refuse), "sod_fast_without_comment": string(model.Refuse), "sod_decisions_per_minute": strconv.Itoa(n)} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
				return nil, err
			}
		}
		done = append(done, fmt.Sprintf("separation of duties: on (from %d decisions within a minute each needs a comment; whoever made every decision may not also close)", n))
	}
	return done, tx.Commit()
}

// grantRoles creates the three roles that do not exist and gives each
// its grants; it returns what it did.
func grantRoles(ctx context.Context, tx *sql.Tx) ([]string, error) {
	all := RoleImporter + ", " + RoleReviewer + ", " + RoleAuditor
	statements := []string{
		`GRANT USAGE ON SCHEMA ` + currentSchema + ` TO ` + all,
		`GRANT SELECT ON ALL TABLES IN SCHEMA ` + currentSchema + ` TO ` + all,
		`GRANT INSERT, UPDATE, DELETE ON ` + strings.Join(inventoryTables, ", ") + ` TO ` + RoleImporter,
		// New identities come with new certificates; their owner and
		// review date are the reviewers'.
		`GRANT INSERT ON identities TO ` + RoleImporter,
		`GRANT UPDATE (owner, expires_at) ON identities TO ` + RoleReviewer,
		`GRANT INSERT ON exceptions TO ` + RoleReviewer,
		`GRANT INSERT, UPDATE ON campaigns TO ` + RoleReviewer,
		// An item keeps its identity and snapshot from launch: only its
		// decision and who reviews it are the reviewers' to write
		// (certgov_item_check too).
		`GRANT INSERT ON campaign_items TO ` + RoleReviewer,
		`REVOKE UPDATE ON campaign_items FROM ` + RoleReviewer,
		`GRANT UPDATE (decision, comment, reviewer, decided_at, assignee) ON campaign_items TO ` + RoleReviewer,
		`GRANT INSERT ON audit_events TO ` + RoleImporter + ", " + RoleReviewer,
		`REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM PUBLIC, ` + all,
		// Only writers may take the write lock (lockWrites): a reader
		// holding it would stop every write.
		`REVOKE ALL ON write_lock FROM PUBLIC, ` + all,
		`GRANT UPDATE ON write_lock TO ` + RoleImporter + ", " + RoleReviewer,
		`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ` + currentSchema + ` TO ` + RoleImporter + ", " + RoleReviewer,
	}
	var done []string
	for _, role := range []string{RoleImporter, RoleReviewer, RoleAuditor} {
		created, err := ensureRole(ctx, tx, role, false)
		if err != nil {
			return nil, err
		}
		if created {
			done = append(done, "role "+role+": created")
		}
	}
	// The schema name cannot be a parameter: read it, quote it.
	var schema string
	if err := tx.QueryRowContext(ctx, `SELECT quote_ident(current_schema())`).Scan(&schema); err != nil {
		return nil, err
	}
	for _, st := range statements {
		if _, err := tx.ExecContext(ctx, strings.ReplaceAll(st, currentSchema, schema)); err != nil {
			return nil, fmt.Errorf("%s: %w", st, err)
		}
	}
	return append(done, "grants: "+RoleImporter+" imports, "+RoleReviewer+" decides, "+RoleAuditor+" reads; the audit trail is insert-only"), nil
}

// grantLogins gives each login of the setup its role, creating a login
// that does not exist (without a password); it returns what it did.
func grantLogins(ctx context.Context, tx *sql.Tx, setup TeamSetup) ([]string, error) {
	var done []string
	for _, grant := range []struct {
		role   string
		logins []string
	}{{RoleImporter, setup.Importers}, {RoleReviewer, setup.Reviewers}, {RoleAuditor, setup.Auditors}} {
		for _, login := range grant.logins {
			created, err := ensureRole(ctx, tx, login, true)
			if err != nil {
				return nil, err
			}
			if created {
				done = append(done, "login "+login+": created without a password (ALTER ROLE … PASSWORD, or certificate or peer authentication in pg_hba.conf)")
			}
			var quoted string
			if err := tx.QueryRowContext(ctx, `SELECT quote_ident(?)`, login).Scan(&quoted); err != nil {
				return nil, err
			}
			if _, err := tx.ExecContext(ctx, `GRANT `+grant.role+` TO `+quoted); err != nil {
				return nil, fmt.Errorf("grant %s to %s: %w", grant.role, login, err)
			}
			done = append(done, "login "+login+": "+grant.role)
		}
	}
	return done, nil
}

// currentSchema stands for the quoted schema name in the grants.
const currentSchema = "«schema»"

// ensureRole creates the role name unless it exists; login says whether
// it may log in. It reports whether it created it.
func ensureRole(ctx context.Context, tx *sql.Tx, name string, login bool) (bool, error) {
	if err := checkLoginName(name); err != nil {
		return false, err
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ?)`, name).Scan(&exists); err != nil || exists {
		return false, err
	}
	var quoted string
	if err := tx.QueryRowContext(ctx, `SELECT quote_ident(?)`, name).Scan(&quoted); err != nil {
		return false, err
	}
	kind := "NOLOGIN"
	if login {
		kind = "LOGIN"
	}
	if _, err := tx.ExecContext(ctx, `CREATE ROLE `+quoted+` `+kind); err != nil {
		return false, fmt.Errorf("create role %s: %w", name, err)
	}
	return true, nil
}

// checkLoginName refuses a login name that could not be a person's or a
// service's database login.
func checkLoginName(name string) error {
	if name == "" || len(name) > 63 || strings.HasPrefix(name, "pg_") || !utf8.ValidString(name) {
		return fmt.Errorf("%q is not a usable login name", name)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("%q is not a usable login name", name)
		}
	}
	return nil
}

// copyTables are every table of the schema, parents before children.
var copyTables = []string{"meta", "identities", "imports", "sources", "certificates", "certificate_sources", "private_keys",
	"trust_entries", "servers", "crls", "revocations", "governance_values", "chain_results", "chain_anchors", "exceptions", "audit_events",
	"campaigns", "campaign_items", "linked", "linked_summary", "relink_pending", "current_periods", "access_log_reads", "usage_days"}

// CopySummary is what CopyTo copied.
type CopySummary struct {
	Rows   map[string]int64
	Events int64 // copied from the source
	// SourceHead is the hash of the source's last event.
	SourceHead string
}

// CopyTo copies this SQLite database, every row of every table with its
// id, into the initialised, empty PostgreSQL database at location, in
// one transaction. Audit events keep their hashes, so the trail verifies
// on the target as it did here. It is run by the target's administrator:
// the audit trail's triggers let only the schema's owner write events in
// other names than its own.
//
// Only a database whose trail explains its state is copied (the full
// state check, and the derived tables against the facts): a copy must not
// launder a value edited behind certgov's back into a trail that then
// reads as intact. After the copied events it writes a db.copy event in
// the administrator's name, naming the source file's SHA-256 and head, so
// that the SQLite names before it never read as database logins.
func (s *Store) CopyTo(ctx context.Context, location string) (*CopySummary, error) {
	if s.Postgres() {
		return nil, errors.New("db copy copies a SQLite database up to PostgreSQL")
	}
	events, diffs, err := s.VerifyTrail(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: copying it would carry the break up", s.path, err)
	}
	derived, err := s.VerifyDerived(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range derived {
		diffs = append(diffs, d.AsState())
	}
	if len(diffs) > 0 {
		return nil, &UnexplainedStateError{Path: s.path, Differences: diffs}
	}
	boundary, err := s.copyBoundary(ctx, events)
	if err != nil {
		return nil, err
	}
	target, err := Open(ctx, location)
	if err != nil {
		return nil, err
	}
	defer target.Close()
	var inUse int64
	if err := target.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM identities) + (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM sources)`).Scan(&inUse); err != nil {
		return nil, err
	}
	if inUse > 0 {
		return nil, fmt.Errorf("database %s is not empty: db copy fills a new database only (certgov db init on an empty one)", target.path)
	}
	conn, err := target.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	sum := &CopySummary{Rows: map[string]int64{}}
	err = conn.Raw(func(driverConn any) error {
		pg := driverConn.(numberedConn).Conn.Conn()
		tx, err := pg.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if _, err := tx.Exec(ctx, `LOCK TABLE write_lock IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		for _, table := range copyTables {
			n, err := s.copyTable(ctx, tx, table)
			if err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
			sum.Rows[table] = n
		}
		if err := insertBoundary(ctx, tx, boundary); err != nil {
			return fmt.Errorf("the db.copy event: %w", err)
		}
		// Identity columns continue after the copied ids.
		rows, err := tx.Query(ctx, `SELECT table_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES'`)
		if err != nil {
			return err
		}
		withIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, table := range withIDs {
			if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), coalesce((SELECT max(id) FROM `+pgx.Identifier{table}.Sanitize()+`), 0) + 1, false)`, table); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return nil, target.permitted(err)
	}
	sum.Events, sum.SourceHead = sum.Rows["audit_events"], boundary.Before
	return sum, nil
}

// UnexplainedStateError refuses a db copy of a database whose state its
// trail does not explain.
type UnexplainedStateError struct {
	Path        string
	Differences []StateDifference
}

func (e *UnexplainedStateError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d values are not what the audit trail records (or what the facts give); db copy refuses to carry them up:", e.Path, len(e.Differences))
	for i, d := range e.Differences {
		if i == 5 {
			fmt.Fprintf(&b, "\n  … and %d more (certgov audit verify, certgov doctor)", len(e.Differences)-5)
			break
		}
		b.WriteString("\n  " + d.String())
	}
	return b.String()
}

// copyBoundary is the db.copy event, but for its seq, time, actor and
// hash, which the target gives it (insertBoundary).
func (s *Store) copyBoundary(ctx context.Context, events []Event) (*Event, error) {
	// The file's bytes, with what its WAL holds written into it first.
	s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	f, err := os.Open(s.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	head, seq := genesisHash, int64(0)
	if n := len(events); n > 0 {
		head, seq = events[n-1].Hash, events[n-1].Seq
	}
	after, _ := json.Marshal(map[string]any{"source": s.path, "source_sha256": hex.EncodeToString(h.Sum(nil)), "source_events": seq, "source_head": head})
	return &Event{Action: ActionCopy, Before: head, After: string(after),
		Reason: "copied up from a SQLite file: the actors of the events before this one are names that file recorded (--as, OS users), not database logins"}, nil
}

// insertBoundary appends e to the trail copied into tx, made now by the
// login that copies.
func insertBoundary(ctx context.Context, tx pgx.Tx, e *Event) error {
	var at int64
	err := tx.QueryRow(ctx, `SELECT coalesce((SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1), 0),
		coalesce((SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), $1), session_user, certgov_now()`, genesisHash).Scan(&e.Seq, &e.PrevHash, &e.Actor, &at)
	if err != nil {
		return err
	}
	e.Seq++
	e.At, e.Format = unixUTC(at), eventFormat
	e.OSUser, e.Host = whoRuns()
	e.Hash = e.computeHash()
	_, err = tx.Exec(ctx, `INSERT INTO audit_events(`+eventColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		e.Seq, at, escapeText(e.Actor), e.Action, escapeText(e.Identity), e.Fingerprint, escapeText(e.Before), escapeText(e.After), escapeText(e.Reason),
		e.PrevHash, e.Hash, e.Format, escapeText(e.Campaign), escapeText(e.OSUser), escapeText(e.Host), escapeText(e.OnBehalfOf))
	return err
}

// copyTable streams one table into the target (COPY), its values made
// what the target's column types take.
func (s *Store) copyTable(ctx context.Context, tx pgx.Tx, table string) (int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	columns, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	types := map[string]string{}
	typeRows, err := tx.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, table)
	if err != nil {
		return 0, err
	}
	for typeRows.Next() {
		var name, kind string
		if err := typeRows.Scan(&name, &kind); err != nil {
			typeRows.Close()
			return 0, err
		}
		types[name] = kind
	}
	typeRows.Close()
	source := &copySource{rows: rows, columns: columns, types: types, table: table}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, source)
	if source.err != nil {
		return n, source.err
	}
	return n, err
}

// copySource feeds CopyFrom from a SQLite query.
type copySource struct {
	rows    *sql.Rows
	columns []string
	types   map[string]string
	table   string
	values  []any
	row     int64
	err     error
}

func (c *copySource) Next() bool {
	if c.err != nil || !c.rows.Next() {
		return false
	}
	c.row++
	raw := make([]any, len(c.columns))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if c.err = c.rows.Scan(ptrs...); c.err != nil {
		return false
	}
	c.values = raw
	for i, v := range raw {
		if c.values[i], c.err = c.convert(c.columns[i], v); c.err != nil {
			return false
		}
	}
	return true
}

// convert makes a SQLite value (dynamically typed) the target column's
// type; text goes in as every write to PostgreSQL writes it (escapeText).
func (c *copySource) convert(column string, v any) (any, error) {
	switch c.types[column] {
	case "text":
		switch x := v.(type) {
		case int64:
			return fmt.Sprint(x), nil
		case []byte:
			v = string(x)
		}
		if x, ok := v.(string); ok {
			return escapeText(x), nil // as every write to PostgreSQL does
		}
	case "bytea":
		if x, ok := v.(string); ok {
			return []byte(x), nil
		}
	}
	return v, nil
}

func (c *copySource) Values() ([]any, error) { return c.values, nil }

func (c *copySource) Err() error {
	if c.err != nil {
		return c.err
	}
	return c.rows.Err()
}
