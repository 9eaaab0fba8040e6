package store

import (
	"context"
	"slices"
	"testing"

	"certgov/importers"
	"certgov/model"
	"certgov/model/demo"
	"certgov/store/storetest"
)

// loadIndexSQL lists the load indexes a database holds, with their SQL.
func loadIndexSQL(t *testing.T, s *Store) []string {
	t.Helper()
	return tableRows(t, s.db, `SELECT name, sql FROM sqlite_schema WHERE type = 'index'
		AND name IN ('certificates_spki', 'certificates_identity', 'identities_name') ORDER BY name`)
}

// TestFirstImportBuildsItsLoadIndexesAtItsEnd: a first import drops the
// indexes whose keys come in random order while it loads, and leaves them
// as the schema defines them when it ends, is stopped, or was killed.
func TestFirstImportBuildsItsLoadIndexesAtItsEnd(t *testing.T) {
	storetest.SQLiteOnly(t, "PostgreSQL imports with its indexes in place")
	ctx := context.Background()
	dir := demoEstate(t)
	defer func(n int) { batchCertificates = n }(batchCertificates)
	batchCertificates = 1 // a commit after each file
	open := func() *Store {
		s, _ := newSQLiteStore(t)
		return s
	}
	// run imports the estate; during reports the load indexes the
	// database holds once the first file is committed (the writer takes
	// the second only after its commit), and stop, when set, stops the
	// import there.
	run := func(s *Store, stop bool) (during []string, err error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		imp, err := s.NewImport(ctx)
		if err != nil {
			t.Fatal(err)
		}
		opts := importers.Options{Known: imp.Known, Password: []byte(demo.KeystorePassword)}
		walked := importers.Walk(ctx, []string{dir}, opts)
		results := make(chan model.FileResult)
		go func() {
			defer close(results)
			files := 0
			for res := range walked {
				if res.Err != nil || res.Skipped != "" || len(res.Certificates) == 0 {
					continue // only files that open a transaction
				}
				results <- res
				if files++; files == 2 {
					during = loadIndexSQL(t, s)
					if stop {
						cancel()
						return
					}
				}
			}
		}()
		_, err = imp.Run(ctx, results, false, nil)
		for range walked {
		}
		return during, err
	}

	fresh := open()
	want := loadIndexSQL(t, fresh)
	if len(want) != len(loadIndexes) {
		t.Fatalf("a new database has load indexes %v, want %d", want, len(loadIndexes))
	}
	during, err := run(fresh, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(during) != 0 {
		t.Errorf("a first import loads with indexes %v in place, want none", during)
	}
	if got := loadIndexSQL(t, fresh); !slices.Equal(got, want) {
		t.Errorf("after a first import the load indexes are\n%v\nwant\n%v", got, want)
	}
	if diffs, err := fresh.VerifyDerived(ctx); err != nil || len(diffs) > 0 {
		t.Errorf("derived state after a first import: %v %v", diffs, err)
	}

	stopped := open()
	if _, err := run(stopped, true); err == nil {
		t.Fatal("a stopped import went through")
	}
	if got := loadIndexSQL(t, stopped); !slices.Equal(got, want) {
		t.Errorf("after a stopped first import the load indexes are\n%v\nwant\n%v", got, want)
	}

	// A first import killed after dropping them: the next import builds
	// them before it loads.
	if err := loadIndexes.drop(ctx, stopped.db); err != nil {
		t.Fatal(err)
	}
	during, err = run(stopped, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(during, want) {
		t.Errorf("an import after a killed first one loads with indexes\n%v\nwant\n%v", during, want)
	}
	if got, want := reviewOutput(t, stopped, false), reviewOutput(t, fresh, false); got != want {
		t.Errorf("records after a stopped and a second import:\n%s", firstDifference(got, want))
	}
}
