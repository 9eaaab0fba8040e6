package store_test

import (
	"os"
	"testing"

	"certgov/store/storetest"
)

// TestMain runs every test on SQLite, then on PostgreSQL (storetest).
func TestMain(m *testing.M) { os.Exit(storetest.RunBoth(m)) }
