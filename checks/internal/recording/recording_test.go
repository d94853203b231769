package recording

import "testing"

func TestLoadAll(t *testing.T) {
	for _, tc := range []struct {
		name      string
		exchanges int
		faults    int // exchanges with a transport_error (HTTP 500)
	}{
		{"test_psrp_get_command_metadata.yml", 10, 0},
		{"test_psrp_open_runspace.yml", 4, 0},
		{"test_psrp_receive_failure.yml", 5, 1},
		{"test_psrp_long_running_cmdlet.yml", 8, 1},
		{"test_psrp_with_jea_configuration.yml", 9, 0},
		{"test_psrp_is_alive_invalid_selectors.yml", 5, 1},
	} {
		ex, err := Load(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if len(ex) != tc.exchanges {
			t.Errorf("%s: %d exchanges, want %d", tc.name, len(ex), tc.exchanges)
		}
		faults := 0
		for i, e := range ex {
			if Action(e.Request) == "" || e.Response == "" {
				t.Errorf("%s #%d: action %q, response %d bytes", tc.name, i, Action(e.Request), len(e.Response))
			}
			switch e.Status {
			case 200:
			case 500:
				faults++
			default:
				t.Errorf("%s #%d: status %d", tc.name, i, e.Status)
			}
		}
		if faults != tc.faults {
			t.Errorf("%s: %d exchanges answered 500, want %d", tc.name, faults, tc.faults)
		}
	}
}
