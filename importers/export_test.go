package importers

// LimitIterations lowers the key-derivation bound for fuzzing, where a
// mutated iteration count would otherwise make each run take seconds.
func LimitIterations(n int) (restore func()) {
	old := maxIterations
	maxIterations = n
	return func() { maxIterations = old }
}
