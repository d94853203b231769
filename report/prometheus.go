package report

import (
	"io"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// renderPrometheus writes the text exposition format through
// client_golang's own registry and encoder, so escaping, ordering and
// HELP/TYPE lines are those every Prometheus tool expects.
func renderPrometheus(w io.Writer, d Doc, _ Options) error {
	reg := prometheus.NewPedanticRegistry()
	if err := Collect(reg, d); err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return err
		}
	}
	return nil
}
