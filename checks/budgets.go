package checks

import "time"

// Every time budget of a run, in one place. Each nests inside the one it
// is listed under (TestBudgetsNest says so), so a stalled server uses up a
// budget of its own and gets a finding while the run still has time to
// report it; only when the run's budget itself runs out does a check end
// as an error, because then exdiag, not the server, was too short.
//
//	RunBudget                    the whole run (default --timeout)
//	├── RequestBudget            one HTTP exchange of the auth probe
//	│   └── HandshakeBudget      the TLS handshake inside it
//	├── ExchangeBudget           the tls probe's handshakes, the redirect probe's GETs
//	│   └── AIAFetchBudget       one fetch of an issuer certificate (--fetch-aia)
//	├── DNSQueryBudget           one query to one resolver (then a retry, then TCP)
//	├── KDCExchangeBudget        one exchange with one KDC (then the next KDC)
//	├── LDAPBudget               the directory search of the spn probe
//	├── SessionRequestBudget     one WS-Management request of the rbac session
//	│   └── ReceiveWait          how long a Receive asks the server to hold for output
//	├── ShellDeleteBudget        deleting the rbac shell while the run has time
//	└── OverrunGrace             how long the runner waits past the run's end for probes to return
//	    └── LateShellDeleteBudget  deleting the rbac shell after the run's end
const (
	RunBudget             = 30 * time.Second
	RequestBudget         = 15 * time.Second
	HandshakeBudget       = 10 * time.Second
	ExchangeBudget        = 10 * time.Second
	AIAFetchBudget        = 5 * time.Second
	DNSQueryBudget        = 2 * time.Second
	KDCExchangeBudget     = 3 * time.Second
	LDAPBudget            = 10 * time.Second
	SessionRequestBudget  = 25 * time.Second
	ReceiveWait           = 20 * time.Second
	ShellDeleteBudget     = 5 * time.Second
	OverrunGrace          = 2 * time.Second
	LateShellDeleteBudget = 1500 * time.Millisecond
)

// DeadlineSlack is how close to the run's deadline a probe may return and
// still count as finished: a connection's deadline timer and the
// context's fire apart, so a read cut by the run's deadline can return a
// hair before ctx reports it. Within the slack, the run's budget ran out.
const DeadlineSlack = 10 * time.Millisecond
