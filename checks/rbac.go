package checks

// RBACCheck is a placeholder until its probe is built.
var RBACCheck = Check{ID: "rbac", Title: "RBAC cmdlets", Doc: "how many cmdlets this user's remote PowerShell session exposes", Requires: []string{"auth"}}
