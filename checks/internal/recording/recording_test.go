package recording

import "testing"

func TestLoadAll(t *testing.T) {
	want := map[string]int{
		"test_psrp_get_command_metadata.yml": 10, "test_psrp_open_runspace.yml": 4,
		"test_psrp_receive_failure.yml": 5, "test_psrp_long_running_cmdlet.yml": 8,
		"test_psrp_with_jea_configuration.yml": 9, "test_psrp_is_alive_invalid_selectors.yml": 5,
	}
	for name, n := range want {
		ex, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(ex) != n {
			t.Errorf("%s: %d exchanges, want %d", name, len(ex), n)
		}
		for i, e := range ex {
			if Action(e.Request) == "" || e.Response == "" {
				t.Errorf("%s #%d: action %q, response %d bytes", name, i, Action(e.Request), len(e.Response))
			}
		}
	}
}
