package checks

// SPNCheck is a placeholder until its probe is built.
var SPNCheck = Check{ID: "spn", Title: "Kerberos SPN", Doc: "HTTP/<name> is registered once for every name a Kerberos client uses"}
