package mesh

// Test hooks; none of them is public API.

// setFaults installs f (nil removes it): see faults.
func (m *Mesh) setFaults(f *faults) { m.faults.Store(f) }
