package checks

// DNSCheck is a placeholder until its probe is built.
var DNSCheck = Check{ID: "dns", Title: "DNS split view", Doc: "the name resolves to the proxy outside and to the CAS inside"}
