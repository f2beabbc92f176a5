package compute

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Process facts the local driver reads from /proc (Linux). They identify an agent by
// what cannot be recycled with a pid: its working directory (the amphora's state
// directory, inherited by the haproxy and keepalived it starts) and its command line.

// alive reports whether pid exists and is not a zombie (a zombie has exited; only its
// parent's reaping is missing).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || (stat[i+2] != 'Z' && stat[i+2] != 'X')
}

// cwdOf is pid's working directory ("" if unreadable). A directory removed while in
// use reads as "<path> (deleted)"; the suffix is dropped.
func cwdOf(pid int) string {
	d, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(d, " (deleted)")
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}

// isAgent reports whether pid is the live keel-agent of amphoraID in dir.
func isAgent(pid int, dir, amphoraID string) bool {
	if !alive(pid) || cwdOf(pid) != dir {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && bytes.Contains(cmdline, []byte("\x00-amphora-id\x00"+amphoraID+"\x00"))
}

// procsIn returns the live processes whose working directory is dir or below: an
// amphora's agent and every daemon it started.
func procsIn(dir string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if within(cwdOf(pid), dir) && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// listening reports whether pid holds a listening TCP socket on 127.0.0.1:port (read
// from its network namespace's /proc/net/tcp, matched against its open sockets), so
// a port that another process grabbed is not taken for the agent's.
func listening(pid, port int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/tcp")
	if err != nil {
		return false
	}
	want := strings.ToUpper(strconv.FormatInt(int64(port), 16))
	for len(want) < 4 {
		want = "0" + want
	}
	want = "0100007F:" + want // 127.0.0.1 in /proc's little-endian hex
	inodes := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		if len(f) >= 10 && f[1] == want && f[3] == "0A" {
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return false
	}
	fdDir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && inodes[l] {
			return true
		}
	}
	return false
}
