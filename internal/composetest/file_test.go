package composetest_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestComposeFilePromises reads docker-compose.yml without Docker and checks what the README
// promises of it: client ports published on 127.0.0.1 by default, one network with a declared
// subnet and fixed node addresses that match the certificates' (cluster init --addr), named
// volumes, the CA key in a volume no node mounts, a non-root user, a health check, a restart
// policy, a stop timeout and resource limits on every node.
func TestComposeFilePromises(t *testing.T) {
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]map[string]any `yaml:"services"`
		Networks map[string]struct {
			IPAM struct {
				Config []map[string]string `yaml:"config"`
			} `yaml:"ipam"`
		} `yaml:"networks"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	const net = "${TMUX_ORC_NET:-172.30.15}"
	if len(f.Networks) != 1 || len(f.Networks["orc"].IPAM.Config) != 1 || f.Networks["orc"].IPAM.Config[0]["subnet"] != net+".0/24" {
		t.Errorf("networks: %+v, want orc alone with the subnet %s.0/24", f.Networks, net)
	}
	for _, v := range []string{"pki", "ca", "data-n1", "data-n2", "data-n3"} {
		if _, ok := f.Volumes[v]; !ok {
			t.Errorf("named volume %s not declared", v)
		}
	}
	strs := func(v any) []string {
		var out []string
		items, _ := v.([]any)
		for _, x := range items {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	pki := f.Services["pki"]
	if pki["network_mode"] != "none" || pki["user"] != "65532:65532" {
		t.Errorf("pki: network_mode %v, user %v", pki["network_mode"], pki["user"])
	}
	cmd := strings.Join(strs(pki["command"]), " ")
	wantAddr := fmt.Sprintf("--addr=n1=%[1]s.11,n2=%[1]s.12,n3=%[1]s.13", net)
	for _, want := range []string{"cluster init", "--exist-ok", "--hosts=n1,n2,n3", wantAddr, "--ca-dir=/ca", "--out=/pki", "--pki-dir=/pki/{host}"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("pki command %q lacks %q", cmd, want)
		}
	}
	for i, n := range nodes {
		s := f.Services[n]
		if s == nil {
			t.Fatalf("no service %s", n)
		}
		ports := strs(s["ports"])
		if len(ports) != 1 || !strings.HasPrefix(ports[0], "${TMUX_ORC_BIND:-127.0.0.1}:") || !strings.HasSuffix(ports[0], ":4222") {
			t.Errorf("%s ports %v: want only 4222, on 127.0.0.1 unless TMUX_ORC_BIND says otherwise", n, ports)
		}
		nets, _ := s["networks"].(map[string]any)
		orc, _ := nets["orc"].(map[string]any)
		if len(nets) != 1 || orc["ipv4_address"] != fmt.Sprintf("%s.%d", net, 11+i) {
			t.Errorf("%s networks %v: want orc at %s.%d, the address in its certificate", n, nets, net, 11+i)
		}
		vols := strs(s["volumes"])
		if !slices.Equal(vols, []string{"data-" + n + ":/data", "pki:/pki:ro"}) {
			t.Errorf("%s volumes %v: want its data volume and the pki volume read-only (never ca)", n, vols)
		}
		command := strings.Join(strs(s["command"]), " ")
		if !strings.Contains(command, "daemon start --foreground") || !strings.Contains(command, "--config /pki/"+n+"/cluster.yaml") {
			t.Errorf("%s command %q", n, command)
		}
		hc, _ := s["healthcheck"].(map[string]any)
		if strings.Join(strs(hc["test"]), " ") != "CMD tmux-orc daemon health" {
			t.Errorf("%s healthcheck %v", n, hc)
		}
		dep, _ := s["depends_on"].(map[string]any)
		if c, _ := dep["pki"].(map[string]any); c["condition"] != "service_completed_successfully" {
			t.Errorf("%s depends_on %v: want pki completed", n, dep)
		}
		for key, want := range map[string]any{"user": "65532:65532", "restart": "unless-stopped", "stop_grace_period": "30s",
			"stop_signal": "SIGTERM", "mem_limit": "1g", "cpus": 1.0, "pids_limit": 512, "read_only": true} {
			if s[key] != want {
				t.Errorf("%s %s = %v (%T), want %v", n, key, s[key], s[key], want)
			}
		}
	}
}

func TestProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90": "127.0.0.1", "0B4DD50A:1896": "10.213.77.11",
		"0000000000000000FFFF00000B4DD50A:1896": "10.213.77.11", "00000000000000000000000001000000:0050": "::1",
	} {
		got, err := procAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("procAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := procAddr("zz:1"); err == nil {
		t.Error("procAddr accepted a bad address")
	}
}
