// Command exdiag diagnoses Exchange remote PowerShell published through a
// reverse proxy.
package main

func main() {}
