package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"certgov/importers"
	"certgov/model"
	"certgov/store"
)

type importFlags struct {
	dryRun       bool
	kind         string
	passwordFile string
	passwordMap  string
	verbose      bool
	host         string
	root         string
	server       string
}

func newImportCommand(a *app) *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import [flags] PATH...",
		Short: "Import certificates from files and folders",
		Long: `Import certificates from files and folders (walked recursively) into the
governance database. Formats are detected by content: PEM (certificates,
chains, bundles, openssl -text dumps), DER, PKCS#7 (.p7b/.p7c), PKCS#12
(.p12/.pfx) and Java keystores (JKS).

Importing the same files again adds nothing. Files are known by their
canonical absolute path (symbolic links resolved), and with --host by the
gateway or machine they came from too: "gw-eu-1:/etc/nginx/nginx.conf".
Each configuration yields its servers (nginx server blocks, Envoy
listeners, ingresses, realm clients); a truststore or CA file imported with
--server NAME is the anchors of that service (a Tomcat, Kafka or Spring
service), otherwise a standalone trust store.
A configuration imported with --host is a copy of that host's: an
absolute path it names is read under --root (the folder holding the copy
of the host's files), or else only from inside the imported tree, never
from this machine's own /etc.
Re-importing a folder ends the sources of files that are gone from it, so
their trust entries stop admitting (the history stays). The files a
configuration names (CA files, includes) are part of its content: a
changed CA file is read again. Private keys found on the way are never
stored: only the fact that a key lies in that file is recorded.

Keystore passwords come from $CERTGOV_KEYSTORE_PASSWORD, --password-file, or
a prompt on a terminal; the empty password and "changeit" are tried too.
Keystores with passwords of their own: --password-map FILE, one line each,
  */partners/*.p12   partners.pw
  truststore.jks     /etc/certgov/truststore.pw
a glob matched against the keystore's name, or with slashes against as
many of its last folders (from the root when it starts with /); the first
line that matches gives a file whose first line is the password, a
relative one beside the map; that one is tried first.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("import needs at least one PATH")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runImport(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, f)
		},
	}
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "report what would be imported, write nothing")
	cmd.Flags().StringVar(&f.kind, "kind", "", "force a format: "+strings.Join(importers.Kinds, ", "))
	cmd.Flags().StringVar(&f.passwordFile, "password-file", "", "file whose first line is the keystore password")
	cmd.Flags().StringVar(&f.passwordMap, "password-map", "", "file of GLOB PASSWORD-FILE lines: the keystores a glob matches (their path or name) open with that file's password")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "also list skipped files")
	cmd.Flags().StringVar(&f.host, "host", "", "the gateway or machine these files came from (part of every source's name)")
	cmd.Flags().StringVar(&f.root, "root", "", "with --host: the folder holding a copy of the host's files; absolute paths in its configurations are read under it")
	cmd.Flags().StringVar(&f.server, "server", "", "the service that uses this truststore or CA file (a Tomcat, Kafka or Spring service): it becomes that server's anchors, not a standalone trust store")
	cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(importers.Kinds, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *app) runImport(ctx context.Context, stdout, stderr io.Writer, paths []string, f importFlags) error {
	if f.kind != "" && !slices.Contains(importers.Kinds, f.kind) {
		return usageError{fmt.Errorf("--kind %q: want one of %s", f.kind, strings.Join(importers.Kinds, ", "))}
	}
	if f.host != "" {
		if err := model.CheckHost(f.host); err != nil {
			return usageError{err}
		}
	}
	if f.root != "" {
		if f.host == "" {
			return usageError{fmt.Errorf("--root goes with --host: it is where a copy of that host's files lies")}
		}
		fi, err := os.Stat(f.root)
		if err != nil || !fi.IsDir() {
			return usageError{fmt.Errorf("--root %s: not a folder", model.Printable(f.root))}
		}
	}
	if f.server != "" && (len(f.server) > 100 || model.Printable(f.server) != f.server || strings.TrimSpace(f.server) != f.server) {
		return usageError{fmt.Errorf("--server %q: name the service in up to 100 printable characters (payments-kafka:9093)", model.Printable(f.server))}
	}
	opts := importers.Options{Kind: model.SourceKind(f.kind), Host: f.host, Root: f.root, Server: f.server}
	password, err := keystorePassword(f.passwordFile)
	if err != nil {
		return err
	}
	opts.Password = password
	if f.passwordMap != "" {
		if opts.PasswordFor, err = readPasswordMap(f.passwordMap); err != nil {
			return usageError{err}
		}
	}
	if password == nil {
		opts.Prompt = terminalPrompt(stderr)
	}

	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	summary, failures, skipped, err := importPaths(ctx, s, paths, opts, f.dryRun, a.actor())
	if err != nil {
		return err
	}
	printImportSummary(stdout, s.Path(), summary, f.dryRun)
	if f.verbose {
		for _, line := range skipped {
			fmt.Fprintln(stdout, model.Printable(line))
		}
	}
	for _, line := range failures {
		fmt.Fprintln(stderr, model.Printable(line))
	}
	if len(failures) > 0 {
		return exitError{code: 1}
	}
	return nil
}

// importMemoryLimit is the soft memory limit of an import's heap: above
// what relinking a million certificates holds (about 130 MiB), so that
// the collector does not run without pause there, and with room under
// 300 MiB for what is not heap: SQLite's page caches and sorts, and the
// program itself, 80–110 MiB at a million. With 200 MiB the import of a
// million peaked at 310–312 MiB; with 180, 292 MiB in the same time
// (241 s).
const importMemoryLimit = 176 << 20

// importPaths runs the importers on worker goroutines feeding the store's
// single writer, and returns the failures, one line each, sorted by path.
func importPaths(ctx context.Context, s *store.Store, paths []string, opts importers.Options, dryRun bool, actor string) (store.ImportSummary, []string, []string, error) {
	imp, err := s.NewImport(ctx)
	if err != nil {
		return store.ImportSummary{}, nil, nil, err
	}
	opts.Known, opts.ReadBefore = imp.Known, imp.ReadBefore
	opts.AccessLogFor = imp.AccessLogFor(opts.Host)
	imp.Actor = actor
	// Folders imported whole: files gone from them end their sources.
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil && info.IsDir() {
			if real, err := importers.Canonical(p); err == nil {
				imp.Folders = append(imp.Folders, model.SourceKey(opts.Host, real))
			}
		}
	}
	// The collector lets the heap grow by half what is live (GOGC=50):
	// about 40 MiB while files load, and while the import relinks about
	// 50 MiB at 100,000 certificates (at the default pace, twice what
	// is live, the import peaked at 155 MiB there instead of 140) and
	// 200 at a million, where the soft limit holds it at
	// importMemoryLimit. (A limit below what is live makes the collector
	// run without pause: with 64 MiB and GOGC=400 the relink of a
	// million took 275 s instead of 130.) GOGC and GOMEMLIMIT, when set,
	// are the user's to choose.
	defer paceCollector(50, importMemoryLimit)()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var failures, skipped []string
	failed := map[string]string{} // by source: what reading the file said
	summary, err := imp.Run(ctx, importers.Walk(ctx, paths, opts), dryRun, func(r model.FileResult) {
		switch {
		case r.Err != nil:
			failed[r.Source.Path] = r.Err.Error()
		case r.Skipped != "":
			skipped = append(skipped, fmt.Sprintf("skipped %s: %s", r.Source.Path, r.Skipped))
		}
		for _, p := range r.Problems {
			failures = append(failures, p.Error())
		}
	})
	if err == nil && !dryRun {
		// The servers imported now may name access logs among the files
		// just walked: a second pass reads those alone. A log the first
		// pass could not read (over the size of certificate material) is
		// no failure once the second has read it.
		var logs store.ImportSummary
		var read []string
		if logs, read, err = importAccessLogs(ctx, s, imp, paths, opts, actor, &failures); err == nil {
			summary.AddPass(logs)
			for _, path := range read {
				if _, ok := failed[path]; ok {
					delete(failed, path)
					summary.FilesFailed--
				}
			}
		}
	}
	for _, msg := range failed {
		failures = append(failures, msg)
	}
	sort.Strings(failures)
	sort.Strings(skipped)
	return summary, failures, skipped, err
}

// importAccessLogs reads, among paths, the access logs of the servers
// an import stored that the import before it (first) did not know.
func importAccessLogs(ctx context.Context, s *store.Store, first *store.Import, paths []string, opts importers.Options, actor string, failures *[]string) (store.ImportSummary, []string, error) {
	imp, err := s.NewImport(ctx)
	if err != nil || !imp.HasAccessLogs(first) {
		return store.ImportSummary{}, nil, err
	}
	imp.Actor = actor
	opts.Known, opts.ReadBefore, opts.AccessLogFor, opts.OnlyAccessLogs = imp.Known, imp.ReadBefore, imp.AccessLogFor(opts.Host), true
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	all := importers.Walk(ctx, paths, opts)
	logs := make(chan model.FileResult)
	go func() {
		defer close(logs)
		for r := range all { // read to its end, which cancel hastens
			if r.Source.Kind != model.KindAccessLog {
				continue
			}
			select {
			case logs <- r:
			case <-ctx.Done():
			}
		}
	}()
	var read []string
	summary, err := imp.Run(ctx, logs, false, func(r model.FileResult) {
		if r.Err != nil {
			*failures = append(*failures, r.Err.Error())
		} else {
			read = append(read, r.Source.Path)
		}
		for _, p := range r.Problems {
			*failures = append(*failures, p.Error())
		}
	})
	return summary, read, err
}

func printImportSummary(w io.Writer, dbPath string, s store.ImportSummary, dryRun bool) {
	if dryRun {
		fmt.Fprintf(w, "Dry run: nothing was written to %s\n", dbPath)
	} else {
		fmt.Fprintf(w, "Imported into %s\n", dbPath)
	}
	fmt.Fprintf(w, "  files:        %d read, %d unchanged since last import, %d skipped, %d failed\n",
		s.Files, s.FilesUnchanged, s.FilesSkipped, s.FilesFailed)
	fmt.Fprintf(w, "  certificates: %d new, %d already known\n", s.CertificatesNew, s.CertificatesKnown)
	fmt.Fprintf(w, "  identities:   %d new\n", s.IdentitiesNew)
	fmt.Fprintf(w, "  sources:      %d new\n", s.SourcesNew)
	if s.SourcesRemoved > 0 {
		fmt.Fprintf(w, "  removed:      %d files gone from the imported folders (their trust entries no longer admit)\n", s.SourcesRemoved)
	}
	if s.TrustEntries > 0 {
		fmt.Fprintf(w, "  trust:        %d entries (pins, CAs, DN and SAN rules, registrations)\n", s.TrustEntries)
	}
	if s.GovernanceValues > 0 {
		fmt.Fprintf(w, "  inventory:    %d rows with owners or review dates\n", s.GovernanceValues)
	}
	if s.Revocations > 0 {
		fmt.Fprintf(w, "  revocations:  %d (from CRLs)\n", s.Revocations)
	}
	if s.PrivateKeys > 0 {
		fmt.Fprintf(w, "  private keys: %d found on disk (recorded by public key only, never stored)\n", s.PrivateKeys)
	}
	if s.AccessLogs > 0 {
		continued := ""
		if s.AccessLogsContinued > 0 {
			continued = fmt.Sprintf("; %d grown since the last import, read from where it ended", s.AccessLogsContinued)
		}
		fmt.Fprintf(w, "  usage:        %d access logs, %d certificate-days (kept per day, never the lines)%s\n", s.AccessLogs, s.UsageDays, continued)
	}
	if s.CertificatesNew == 0 && s.SourcesNew == 0 && s.SourcesRemoved == 0 && s.FilesFailed == 0 && s.Problems == 0 && !dryRun {
		fmt.Fprintln(w, "Nothing new: the database already holds everything in these files.")
	}
	if n := s.FilesFailed + s.Problems; n > 0 {
		fmt.Fprintf(w, "  errors:       %d (listed on stderr)\n", n)
	}
}

// keystorePassword reads the configured password: --password-file wins
// over $CERTGOV_KEYSTORE_PASSWORD. Never a command-line argument, which
// other users could read from the process list.
func keystorePassword(file string) ([]byte, error) {
	if file != "" {
		data, err := importers.ReadBounded(file, smallFileLimit)
		if err != nil {
			return nil, fmt.Errorf("--password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(data), "\n")
		return []byte(strings.TrimRight(line, "\r")), nil
	}
	if env, ok := os.LookupEnv("CERTGOV_KEYSTORE_PASSWORD"); ok {
		return []byte(env), nil
	}
	return nil, nil
}

// readPasswordMap reads --password-map: one GLOB PASSWORD-FILE a line (#
// comments), a relative password file taken from the map's folder. It
// returns what gives a keystore its password: the first line whose glob
// matches the keystore's path, or its name.
func readPasswordMap(file string) (func(path string) []byte, error) {
	data, err := importers.ReadBounded(file, smallFileLimit)
	if err != nil {
		return nil, fmt.Errorf("--password-map: %w", err)
	}
	type entry struct {
		glob     string
		password []byte
	}
	var entries []entry
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s:%d: want GLOB PASSWORD-FILE", model.Printable(file), n+1)
		}
		if _, err := filepath.Match(fields[0], ""); err != nil {
			return nil, fmt.Errorf("%s:%d: %q: %w", model.Printable(file), n+1, model.Printable(fields[0]), err)
		}
		pwFile := fields[1]
		if !filepath.IsAbs(pwFile) {
			pwFile = filepath.Join(filepath.Dir(file), pwFile)
		}
		pw, err := keystorePassword(pwFile)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", model.Printable(file), n+1, err)
		}
		entries = append(entries, entry{fields[0], pw})
	}
	return func(path string) []byte {
		for _, e := range entries {
			if globMatchesPath(e.glob, path) {
				return e.password
			}
		}
		return nil
	}, nil
}

// globMatchesPath matches a glob against a path's end: a glob without a
// slash against its name, one with slashes against as many of its last
// folders ("partners/*.p12", "*/payments.p12" at any depth), or the whole
// path when it starts with one.
func globMatchesPath(glob, path string) bool {
	path = filepath.ToSlash(path)
	if strings.HasPrefix(glob, "/") {
		ok, _ := filepath.Match(glob, path)
		return ok
	}
	parts := strings.Split(path, "/")
	n := strings.Count(glob, "/") + 1
	if n > len(parts) {
		return false
	}
	ok, _ := filepath.Match(glob, strings.Join(parts[len(parts)-n:], "/"))
	return ok
}

// terminalPrompt asks for keystore passwords on the controlling terminal,
// one file at a time; nil when standard input is not a terminal.
func terminalPrompt(stderr io.Writer) func(path string) ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil
	}
	var mu sync.Mutex
	return func(path string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stderr, "Password for keystore %s: ", model.Printable(path))
		pw, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		return pw, err
	}
}
