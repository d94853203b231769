package checks

// TLSCheck is a placeholder until its probe is built.
var TLSCheck = Check{ID: "tls", Title: "TLS certificate chain", Doc: "the chain a client receives is trusted, complete, valid and for this name", Requires: []string{"dns"}}
