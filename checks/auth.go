package checks

// AuthCheck is a placeholder until its probe is built.
var AuthCheck = Check{ID: "auth", Title: "PowerShell endpoint", Doc: "what /PowerShell answers, and which documented cause a 4xx/5xx stands for", Requires: []string{"tls"}}
