// Package serve is `exdiag serve`: a Prometheus /probe endpoint in the
// blackbox_exporter style. Prometheus decides when to probe which
// deployment and stores the history; the service answers one probe per
// request with a fresh registry, and protects the customer's Exchange from
// being probed harder than a person would: one PowerShell session per
// deployment per rbac interval, no retry of a refused password, a bound on
// concurrent probes and one probe at a time per deployment and vantage.
package serve

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/exdiag/exdiag/checks"
)

// Defaults of the protections, used when a target does not set its own.
const (
	// DefaultRBACInterval is how often the rbac probe may open a
	// PowerShell session per deployment: Exchange allows 18 shells per
	// user, and every session is a line in the customer's logs.
	DefaultRBACInterval = 15 * time.Minute
	// DefaultBadPasswordBackoff is how long a password the server refused
	// is not sent again (unless the file is reloaded), so monitoring
	// cannot lock the account out.
	DefaultBadPasswordBackoff = time.Hour
)

// Target is one deployment, seen from one vantage, that /probe can run.
type Target struct {
	Deployment string
	Vantage    string // "" when the deployment has none
	Labels     map[string]string
	// RBACInterval and BadPasswordBackoff are the protections for this
	// deployment; zero means the defaults above.
	RBACInterval       time.Duration
	BadPasswordBackoff time.Duration
	// Config builds the run's validated configuration with its password,
	// read afresh each probe so a rotated password file is picked up.
	Config func() (*checks.Config, error)
}

// Key names the target in logs, metrics of the service and the
// singleflight group: deployment or deployment/vantage.
func (t Target) Key() string {
	if t.Vantage == "" {
		return t.Deployment
	}
	return t.Deployment + "/" + t.Vantage
}

func (t Target) rbacInterval() time.Duration {
	if t.RBACInterval > 0 {
		return t.RBACInterval
	}
	return DefaultRBACInterval
}

func (t Target) backoff() time.Duration {
	if t.BadPasswordBackoff > 0 {
		return t.BadPasswordBackoff
	}
	return DefaultBadPasswordBackoff
}

// Fleet is what one load of the configuration file yields.
type Fleet struct {
	Targets []Target
}

// find returns the target a /probe request names. A deployment with
// several vantages needs the vantage, since each is a different path to it.
func (f *Fleet) find(name, vantage string) (Target, error) {
	var vs []string
	for _, t := range f.Targets {
		if t.Deployment != name {
			continue
		}
		if t.Vantage == vantage {
			return t, nil
		}
		vs = append(vs, t.Vantage)
	}
	if len(vs) == 0 {
		return Target{}, fmt.Errorf("unknown target %q; give a deployment name of the config file (%s)", name, strings.Join(f.names(), ", "))
	}
	if vantage == "" {
		if len(vs) == 1 {
			for _, t := range f.Targets {
				if t.Deployment == name {
					return t, nil
				}
			}
		}
		return Target{}, fmt.Errorf("target %q has several vantages; add &vantage= one of %s", name, strings.Join(vs, ", "))
	}
	return Target{}, fmt.Errorf("target %q has no vantage %q; use one of %s", name, vantage, strings.Join(vs, ", "))
}

func (f *Fleet) names() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range f.Targets {
		if !seen[t.Deployment] {
			seen[t.Deployment] = true
			out = append(out, t.Deployment)
		}
	}
	sort.Strings(out)
	return out
}
