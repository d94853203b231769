package catalog

// entries is the catalog. Remediation is written for an Exchange admin:
// exact cmdlets, appcmd lines and console steps.
var entries = []Entry{
	{
		Code: "DNS-EXT-NXDOMAIN", Check: "dns", Severity: "fail",
		Title:       "the public name does not exist",
		Cause:       "The external resolver answers NXDOMAIN for the namespace, so internet clients cannot find the reverse proxy.",
		Remediation: []string{"create an A record for the namespace in the public zone, pointing at the reverse proxy's public address", "for a quick test from one client, add the name and the proxy's public address to the HOSTS file"},
		References:  []string{"SEED: nslookup on the client must resolve the name to the ARR server"},
	},
}
