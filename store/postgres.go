package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"certgov/model"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// The team database: the same store on PostgreSQL (pgx through
// database/sql). Queries are written once, with ? placeholders, which the
// connection below numbers for PostgreSQL; the schema is PostgreSQL's own
// (postgresSchema), with SQLite's NOCASE and json_group_array defined
// there; what remains differs in postgresDialect's methods.

// postgresDialect is a PostgreSQL database whose logins are its users:
// every change is made as the session user, at the server's time.
type postgresDialect struct {
	config  *pgx.ConnConfig // connects the change listener
	session string          // the session user, the actor of every change
	schema  string          // the schema migrations run in, quoted («schema» in their SQL)

	listener      *pgx.Conn // WaitForChange's LISTEN connection
	notified      int64     // notifications the listener received
	notifiedToken string    // changedToken when the listener last reported a change
}

func (*postgresDialect) name() string { return "postgres" }

func (d *postgresDialect) login() string { return d.session }

func (*postgresDialect) baseline() int { return postgresBaseline }

func (d *postgresDialect) migration(m migration) migrationStep {
	step := m.postgres
	step.sql = strings.ReplaceAll(step.sql, "«schema»", d.schema)
	return step
}

// IsPostgres reports whether a --db location names a PostgreSQL database
// rather than a SQLite file: a postgres:// or postgresql:// URL,
// "postgres:" and libpq's key=value form ("postgres:host=db dbname=certgov"),
// or that key=value form alone ("host=db dbname=certgov").
func IsPostgres(location string) bool {
	return strings.HasPrefix(location, "postgres:") || strings.HasPrefix(location, "postgresql://") || keyValueDSN.MatchString(location)
}

// keyValueDSN is how libpq's key=value form starts.
var keyValueDSN = regexp.MustCompile(`^\s*(host|hostaddr|port|dbname|user|password|passfile|sslmode|service|connect_timeout|application_name)\s*=`)

// postgresConnString is what pgx parses for a location IsPostgres accepts.
func postgresConnString(location string) string {
	if strings.HasPrefix(location, "postgres://") || strings.HasPrefix(location, "postgresql://") {
		return location
	}
	return strings.TrimPrefix(location, "postgres:")
}

// parsePostgres parses a location, its password kept out of errors.
func parsePostgres(location string) (*pgx.ConnConfig, error) {
	config, err := pgx.ParseConfig(postgresConnString(location))
	if err != nil {
		return nil, fmt.Errorf("database %s: cannot read the address (%s)", RedactURL(location), "check its form: postgres://USER@HOST:PORT/DB")
	}
	return config, nil
}

// RedactURL is a database location without its password, for every
// message; a file path is returned as it is.
func RedactURL(location string) string {
	if !IsPostgres(location) {
		return location
	}
	if !strings.HasPrefix(location, "postgres://") && !strings.HasPrefix(location, "postgresql://") {
		prefix := ""
		if strings.HasPrefix(location, "postgres:") {
			prefix = "postgres:"
		}
		return prefix + redactKeyValue(postgresConnString(location))
	}
	u, err := url.Parse(location)
	if err != nil {
		return "postgres://… (an address that is not a URL; not shown)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactKeyValue masks the password of libpq's key=value form, read as
// libpq reads it: spaces around =, values in single quotes with
// backslash escapes. A form it cannot read is not shown at all.
func redactKeyValue(dsn string) string {
	var out []string
	for rest := strings.TrimSpace(dsn); rest != ""; rest = strings.TrimLeft(rest, " \t\r\n") {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return "(a key=value address certgov cannot read; not shown)"
		}
		key := strings.TrimSpace(rest[:eq])
		rest = strings.TrimLeft(rest[eq+1:], " \t\r\n")
		var value string
		if strings.HasPrefix(rest, "'") {
			end := 1
			for end < len(rest) && rest[end] != '\'' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(rest) {
				return "(a key=value address certgov cannot read; not shown)"
			}
			value, rest = rest[:end+1], rest[end+1:]
		} else {
			end := strings.IndexAny(rest, " \t\r\n")
			if end < 0 {
				end = len(rest)
			}
			value, rest = rest[:end], rest[end:]
		}
		if key == "password" {
			value = "xxxxx"
		}
		out = append(out, key+"="+value)
	}
	return strings.Join(out, " ")
}

// passwordWarning is the warning for a password written in --db itself,
// which every user of the machine sees in the process list.
func passwordWarning(location string) string {
	if RedactURL(location) == location {
		return ""
	}
	return "the --db address holds a password, which other users of this machine can read in the process list (ps): keep it in a password file (PGPASSFILE, ~/.pgpass, mode 0600) or PGPASSWORD instead"
}

// Every writing transaction on PostgreSQL first locks the table
// write_lock (EXCLUSIVE): writers then run one at a time, as SQLite's
// BEGIN IMMEDIATE makes them, so the audit chain stays one sequence and
// a change reads the value it replaces with no lost update. Readers never
// wait for it, and only the writing roles may take it: an advisory lock
// would be open to every login, the read-only auditor's too. A wait for
// it ends after writeLockTimeout with WriteLockTimeoutError.
var writeLockTimeout = 30 * time.Second

// migrationLockKey is the advisory lock schema migrations take: they run
// as the schema's owner, before write_lock exists.
const migrationLockKey = 0x63657274676f76 // "certgov"

// WriteLockTimeoutError is a write that waited too long for another
// login's transaction to end.
type WriteLockTimeoutError struct {
	Waited time.Duration
}

func (e *WriteLockTimeoutError) Error() string {
	return fmt.Sprintf("another login's transaction has held certgov's write lock for over %s: try again, or ask an administrator to look at pg_stat_activity", e.Waited)
}

// openPostgres opens the database at the URL location. An empty database
// gets the schema when its owner opens it; the roles and grants a team
// needs are certgov db init's (InitPostgres).
func openPostgres(ctx context.Context, location string) (*Store, error) {
	config, err := parsePostgres(location)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(numberedConnector{stdlibConnector(config)})
	db.SetMaxIdleConns(4)
	d := &postgresDialect{config: config}
	s := &Store{db: db, path: RedactURL(location), dialect: d}
	if err := db.QueryRowContext(ctx, `SELECT session_user`).Scan(&d.session); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", s.path, err)
	}
	if warning := s.plaintextWarning(ctx, config.Host); warning != "" {
		s.warnings = append(s.warnings, warning)
	}
	if warning := passwordWarning(location); warning != "" {
		s.warnings = append(s.warnings, warning)
	}
	version, err := s.schemaVersion(ctx)
	switch {
	case err != nil:
		err = fmt.Errorf("database %s: %w", s.path, err)
	case version == 0:
		// An empty database its owner opens gets the schema, as a new
		// SQLite file does; roles and grants stay db init's.
		if _, err = s.migrate(ctx); s.isPermissionDenied(err) {
			err = fmt.Errorf("database %s has no certgov schema: an administrator runs certgov db init --db URL first", s.path)
		}
	case version > len(migrations):
		err = fmt.Errorf("database %s: schema version %d is newer than this certgov knows (%d): upgrade certgov", s.path, version, len(migrations))
	case version < len(migrations):
		err = fmt.Errorf("database %s: schema version %d of %d: an administrator runs certgov db init --db URL to upgrade it", s.path, version, len(migrations))
	}
	if err == nil {
		err = s.relinkIfOlder(ctx)
		if s.isPermissionDenied(err) {
			// A reader (an auditor) cannot relink; reads link in memory.
			err = nil
		}
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// plaintextWarning warns when the connection to a server on another
// machine is not encrypted: logins, owners and the whole inventory cross
// the network. (pgx's default, sslmode=prefer, falls back to plain text
// silently; sslmode=verify-full also checks the server's certificate.)
func (s *Store) plaintextWarning(ctx context.Context, host string) string {
	if strings.HasPrefix(host, "/") || host == "localhost" || net.ParseIP(host).IsLoopback() {
		return ""
	}
	var encrypted bool
	err := s.db.QueryRowContext(ctx, `SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)`).Scan(&encrypted)
	if err != nil || encrypted {
		return ""
	}
	return fmt.Sprintf("the connection to %s is not encrypted: logins and the inventory cross the network in plain text (add sslmode=verify-full to the URL)", host)
}

// Login is the database login changes are made as on PostgreSQL; "" on
// SQLite, where the actor is the name given (--as) and the OS user.
func (s *Store) Login() string { return s.dialect.login() }

// Postgres reports whether the store is a PostgreSQL team database.
func (s *Store) Postgres() bool { return s.dialect.name() == "postgres" }

// schemaVersion reads the schema version; 0 for a database certgov has
// not initialised.
func (*postgresDialect) schemaVersion(ctx context.Context, q execQuerier) (int, error) {
	var exists bool
	if err := q.QueryRowContext(ctx, `SELECT to_regclass('certgov_schema') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var version int
	err := q.QueryRowContext(ctx, `SELECT version FROM certgov_schema`).Scan(&version)
	return version, err
}

// lockMigrations takes the migrations' advisory lock (any login may
// take one, so the wait is bounded as the write lock's is) and reads the
// schema the migrations run in.
func (d *postgresDialect) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d`, writeLockTimeout.Milliseconds())); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(migrationLockKey)); err != nil {
		if e := postgresError(err); e != nil && e.Code == "55P03" {
			return &WriteLockTimeoutError{Waited: writeLockTimeout}
		}
		return err
	}
	return tx.QueryRowContext(ctx, `SELECT quote_ident(current_schema())`).Scan(&d.schema)
}

// initialise makes the version table; the migrations then start at the
// baseline, which creates the schema of that version at once.
func (d *postgresDialect) initialise(ctx context.Context, tx *sql.Tx) (int, error) {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE certgov_schema (version bigint NOT NULL)`); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO certgov_schema(version) VALUES (0)`); err != nil {
		return 0, err
	}
	return d.baseline() - 1, nil
}

func (*postgresDialect) setSchemaVersion(ctx context.Context, tx *sql.Tx, version int) error {
	_, err := tx.ExecContext(ctx, `UPDATE certgov_schema SET version = ?`, version)
	return err
}

// beginOn begins, then takes the write lock.
func (d *postgresDialect) beginOn(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	if err := d.lockWrites(ctx, conn); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	return nil
}

// tuneWriter has nothing to tune: the server's buffers are shared.
func (*postgresDialect) tuneWriter(context.Context, *sql.Conn) (func(), error) {
	return func() {}, nil
}

// lockWrites takes write_lock (see writeLockTimeout).
func (*postgresDialect) lockWrites(ctx context.Context, q execQuerier) error {
	if _, err := q.ExecContext(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d`, writeLockTimeout.Milliseconds())); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, `LOCK TABLE write_lock IN EXCLUSIVE MODE`)
	if e := postgresError(err); e != nil && e.Code == "55P03" {
		return &WriteLockTimeoutError{Waited: writeLockTimeout}
	}
	return err
}

// integrity has nothing for a client to walk: the server keeps its own
// files consistent.
func (*postgresDialect) integrity(context.Context, *sql.DB) (string, error) {
	return "the PostgreSQL server's (its WAL, and data checksums where the cluster has them)", nil
}

func (*postgresDialect) recordQuery() string { return postgresRecordQuery }

func (*postgresDialect) fromHex(hex string) string { return "decode(" + hex + ", 'hex')" }

func (d *postgresDialect) close() {
	if d.listener != nil {
		d.listener.Close(context.Background())
	}
}

// changeTime is the server's clock at the start of the transaction, in
// whole seconds, which the audit trigger checks every event against
// (certgov_now).
func (*postgresDialect) changeTime(ctx context.Context, q execQuerier) (time.Time, bool, error) {
	var at int64
	if err := q.QueryRowContext(ctx, `SELECT certgov_now()`).Scan(&at); err != nil {
		return time.Time{}, false, err
	}
	return unixUTC(at), true, nil
}

// postgresError is err's PostgreSQL error, nil when it has none.
func postgresError(err error) *pgconn.PgError {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr
	}
	return nil
}

// classify reads PostgreSQL's SQLSTATE: unique_violation; serialization
// failure and deadlock (the transaction did nothing and may simply run
// again); insufficient_privilege; data_corrupted and index_corrupted.
func (*postgresDialect) classify(err error) errorClass {
	e := postgresError(err)
	if e == nil {
		return otherError
	}
	switch e.Code {
	case "23505":
		return uniqueViolation
	case "40001", "40P01":
		return retryableError
	case "42501":
		return permissionDenied
	case "XX001", "XX002":
		return corruptDatabase
	}
	return otherError
}

// NotPermittedError is a change the database login's role does not allow
// (an auditor's, or a reviewer's import).
type NotPermittedError struct {
	Login string
	Err   error
}

func (e *NotPermittedError) Error() string {
	return fmt.Sprintf("the database login %s may not do this (%v): ask an administrator for the role (certgov db init --reviewer/--importer LOGIN)", e.Login, e.Err)
}

func (e *NotPermittedError) Unwrap() error { return e.Err }

// permitted turns PostgreSQL's permission errors into NotPermittedError.
func (s *Store) permitted(err error) error {
	if s.isPermissionDenied(err) {
		return &NotPermittedError{Login: s.Login(), Err: errors.New(postgresError(err).Message)}
	}
	return err
}

// stdlibConnector is pgx's database/sql connector for config.
func stdlibConnector(config *pgx.ConnConfig) driver.Connector {
	if config.RuntimeParams == nil {
		config.RuntimeParams = map[string]string{}
	}
	config.RuntimeParams["application_name"] = "certgov"
	// Compiling a plan to machine code costs a third of a second on the
	// first large query and gains nothing on certgov's: scans and
	// index lookups, not expressions over millions of rows.
	config.RuntimeParams["jit"] = "off"
	return stdlib.GetConnector(*config)
}

// numberedConnector hands out connections that number ? placeholders.
type numberedConnector struct{ driver.Connector }

func (c numberedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return numberedConn{conn.(*stdlib.Conn)}, nil
}

// numberedConn is pgx's connection with certgov's queries' ? placeholders
// numbered $1, $2, … as PostgreSQL wants them. Booleans are passed as 0
// and 1, as SQLite stores them.
type numberedConn struct{ *stdlib.Conn }

func (c numberedConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c numberedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	stmt, err := c.Conn.PrepareContext(ctx, numberPlaceholders(query))
	if err != nil {
		return nil, err
	}
	return decodingStmt{stmt.(*stdlib.Stmt)}, nil
}

func (c numberedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, numberPlaceholders(query), args)
}

func (c numberedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.QueryContext(ctx, numberPlaceholders(query), args)
	if err != nil {
		return nil, err
	}
	return decodingRows{rows}, nil
}

// CheckNamedValue converts an argument as database/sql would, then
// passes booleans as 0 and 1 (as SQLite stores them) and escapes text
// PostgreSQL cannot hold (escapeText).
func (c numberedConn) CheckNamedValue(v *driver.NamedValue) error {
	var err error
	v.Value, err = postgresValue(v.Value)
	return err
}

// postgresValue is a value as certgov passes it to PostgreSQL, by
// statement or by COPY.
func postgresValue(v any) (any, error) {
	if b, ok := v.(bool); ok {
		if b {
			return int64(1), nil
		}
		return int64(0), nil
	}
	value, err := driver.DefaultParameterConverter.ConvertValue(v)
	if text, ok := value.(string); ok {
		value = escapeText(text)
	}
	return value, err
}

// copyBatch is rowBatch by COPY: thousands of rows a COPY, which the
// server neither parses nor plans per statement, sent in pgx's binary
// format. The first relink of a million certificates wrote its linked
// rows and periods in 62 s instead of 94 s with INSERTs of 64 rows. Its
// rows go on conn, in the transaction open there.
type copyBatch struct {
	conn    *sql.Conn
	table   string
	columns []string
	values  []any // the queued rows, one after the other
}

// copyRows is how many rows a COPY writes: a few MB at most.
const copyRows = 4096

func (b *copyBatch) add(ctx context.Context, values ...any) error {
	for _, v := range values {
		value, err := postgresValue(v)
		if err != nil {
			return err
		}
		b.values = append(b.values, value)
	}
	if len(b.values) < copyRows*len(b.columns) {
		return nil
	}
	return b.flush(ctx)
}

func (b *copyBatch) flush(ctx context.Context) error {
	if len(b.values) == 0 {
		return nil
	}
	rows := &queuedRows{values: b.values, width: len(b.columns)}
	defer func() { b.values = b.values[:0] }()
	return b.conn.Raw(func(dc any) error {
		conn, ok := dc.(numberedConn)
		if !ok {
			return fmt.Errorf("COPY on a %T connection", dc)
		}
		n, err := conn.Conn.Conn().CopyFrom(ctx, pgx.Identifier{b.table}, b.columns, rows)
		if err == nil && int(n) != rows.count() {
			err = fmt.Errorf("COPY %s wrote %d of %d rows", b.table, n, rows.count())
		}
		return err
	})
}

// queuedRows are copyBatch's rows as pgx's CopyFrom reads them.
type queuedRows struct {
	values []any
	width  int
	at     int // the row Values returns, from 1
}

func (r *queuedRows) count() int { return len(r.values) / r.width }

func (r *queuedRows) Next() bool {
	r.at++
	return r.at <= r.count()
}

func (r *queuedRows) Values() ([]any, error) {
	return r.values[(r.at-1)*r.width : r.at*r.width], nil
}

func (*queuedRows) Err() error { return nil }

// decodingStmt is a prepared statement whose rows unescape text.
type decodingStmt struct{ *stdlib.Stmt }

func (s decodingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.Stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	return decodingRows{rows}, nil
}

// decodingRows unescape the text columns escapeText wrote.
type decodingRows struct{ driver.Rows }

func (r decodingRows) Next(dest []driver.Value) error {
	if err := r.Rows.Next(dest); err != nil {
		return err
	}
	for i, v := range dest {
		if text, ok := v.(string); ok && strings.IndexByte(text, textEscape) >= 0 {
			dest[i] = unescapeText(text)
		}
	}
	return nil
}

// PostgreSQL text holds neither NUL nor bytes that are not UTF-8, and a
// hostile file may put either in a certificate's names or its own path:
// certgov must store them as they are, as SQLite does, not fail the
// import. Such a string is stored escaped with SOH (0x01), which is
// escaped itself, so the encoding is one-to-one and every other string is
// stored unchanged: "\x01" + '0' is NUL, + '1' is SOH, + 'x' and two hex
// digits is a byte that is not UTF-8.
const textEscape = 0x01

func escapeText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 && strings.IndexByte(s, textEscape) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case s[i] == 0:
			b.WriteString("\x010")
		case s[i] == textEscape:
			b.WriteString("\x011")
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "\x01x%02x", s[i])
		default:
			b.WriteString(s[i : i+size])
		}
		i += max(size, 1)
	}
	return b.String()
}

func unescapeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != textEscape || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '0':
			b.WriteByte(0)
			i++
		case '1':
			b.WriteByte(textEscape)
			i++
		case 'x':
			if n, err := strconv.ParseUint(s[i+2:min(i+4, len(s))], 16, 8); err == nil && i+4 <= len(s) {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
			b.WriteByte(s[i])
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

var numbered sync.Map // query → its numbered form

// numberPlaceholders rewrites ? outside quotes and comments as $1, $2, ….
func numberPlaceholders(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	if q, ok := numbered.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		switch c := query[i]; {
		case c == '\'' || c == '"':
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 {
				b.WriteString(query[i:])
				i = len(query)
				continue
			}
			b.WriteString(query[i : i+end+2])
			i += end + 1
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	numbered.Store(query, out)
	return out
}

// waitForChange is WaitForChange on PostgreSQL: versions count the
// changes the listening connection has heard of. Any login may NOTIFY
// certgov's channel, so a notification only says "look": the change is
// what changedToken reads, and a flood of notifications that changed
// nothing is waited out in bursts of at most notifyBurst, never delaying
// a real change by more than that.
func (d *postgresDialect) waitForChange(ctx context.Context, db *sql.DB, since int64, _ time.Duration) (int64, error) {
	if d.listener == nil {
		conn, err := pgx.ConnectConfig(ctx, d.config)
		if err != nil {
			return 0, err
		}
		if _, err := conn.Exec(ctx, "LISTEN certgov_changed"); err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return 0, err
		}
		token, err := changedToken(ctx, db)
		if err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return 0, err
		}
		d.listener, d.notified, d.notifiedToken = conn, 1, token
	}
	if since != d.notified {
		return d.notified, nil
	}
	for {
		if _, err := d.listener.WaitForNotification(ctx); err != nil {
			if ctx.Err() == nil {
				// The connection is gone: the next call connects again.
				d.listener.Close(context.WithoutCancel(ctx))
				d.listener = nil
			}
			return 0, err
		}
		// One commit notifies once per table it changed: take them
		// together, for a bounded time however many arrive.
		burst, cancel := context.WithTimeout(ctx, notifyBurst)
		for {
			if _, err := d.listener.WaitForNotification(burst); err != nil {
				break
			}
		}
		cancel()
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		token, err := changedToken(ctx, db)
		if err != nil {
			return 0, err
		}
		if token != d.notifiedToken {
			d.notifiedToken = token
			d.notified++
			return d.notified, nil
		}
	}
}

// notifyBurst is how long notifications are taken together.
const notifyBurst = 50 * time.Millisecond

// changedToken changes with every change a dashboard shows: every
// governance change and import writes an audit event, and every relink
// its summary.
func changedToken(ctx context.Context, db *sql.DB) (string, error) {
	var token string
	err := db.QueryRowContext(ctx, `SELECT coalesce((SELECT max(seq) FROM audit_events), 0) || '/' ||
		coalesce((SELECT version || md5(summary) FROM linked_summary WHERE id = 1), '')`).Scan(&token)
	return token, err
}

// fillConfusables loads TR39's confusable skeletons
// (model.ConfusableSkeletons) for certgov_canonical_name, in one
// statement.
func fillConfusables(ctx context.Context, tx *sql.Tx) error {
	table, err := json.Marshal(model.ConfusableSkeletons())
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO confusables(ch, skeleton) SELECT key, value FROM json_each_text(?::json)`, string(table))
	return err
}
