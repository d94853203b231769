package checks

// RedirectCheck is a placeholder until its probe is built.
var RedirectCheck = Check{ID: "redirect", Title: "HTTP to HTTPS", Doc: "plain http is sent to https so no credential goes in clear", Requires: []string{"dns"}}
