package checks

// All is the list of probes, in report order. Each is defined in its own
// file; a probe without Run reports "not implemented yet".
func All() []Check {
	return []Check{DNSCheck, TLSCheck, RedirectCheck, AuthCheck, SPNCheck, RBACCheck}
}
