package serviceproxy

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	ebpflink "github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// sockmapLinks bounds how many connections the kernel forwards at once (each puts two entries in
// each map); more are spliced in userspace.
const sockmapLinks = 16384

// sockmapForwarder forwards the bytes of proxied TCP connections inside the kernel, with a BPF
// sockmap (Documentation/bpf/map_sockmap.rst; kernel ≥ 5.13 for BPF_SK_SKB_VERDICT, with
// CONFIG_BPF_SYSCALL and CONFIG_NET_SOCK_MSG; CAP_BPF and CAP_NET_ADMIN, or root):
//
//   - targets, a BPF_MAP_TYPE_SOCKHASH without programs: key = the socket cookie (SO_COOKIE, u64)
//     of one side of a connection, value = the other side's socket. Being in it makes a socket a
//     valid destination of bpf_sk_redirect_hash;
//   - verdict, a BPF_MAP_TYPE_SOCKHASH (key = the socket's own cookie) with the verdict program
//     attached as BPF_SK_SKB_VERDICT: every socket in it has its received bytes handed to the
//     program instead of its receive queue. The program is
//     `cookie = bpf_get_socket_cookie(skb); return bpf_sk_redirect_hash(skb, &targets, &cookie, 0)`:
//     the bytes go out on the peer (flags 0: its sending side), through the peer's psock backlog
//     (a kernel work item), without waking userspace.
//
// Two maps, so that a socket's bytes are redirected only once its peer is a destination: both
// sockets enter targets first, then verdict. A socket already in the verdict map before its
// bytes arrived needs one recv(2) to push them through the program (tcp_bpf_recvmsg_parser does
// that for bytes queued before the socket entered the map).
//
// What stays in userspace (kernelLink): the accept, the dial, the PROXY header (written before
// the sockets enter the maps), half-closes and closes, the drain timers, the counts. A FIN is
// seen through a process-wide epoll set that asks for EPOLLRDHUP only (data arrivals do not wake
// it). The FIN cannot be passed on at once: the bytes before it may still sit in the peer's
// psock backlog, and a shutdown(2) before they reached the peer's send queue would lose them. So
// the link counts: the FIN is passed on once the bytes written on the peer since it entered the
// maps (TCP_INFO bytes_acked + SIOCOUTQ) reach the bytes received on the side that sent the FIN
// (TCP_INFO bytes_received, which counts the FIN as one).
//
// The sockets leave both maps when they are closed (the kernel removes a closed socket from
// every sockmap), so nothing is deleted by hand. The maps, the program and the epoll set live as
// long as the process; nothing is pinned.
type sockmapForwarder struct {
	targets, verdict *ebpf.Map
	prog             *ebpf.Program
	epfd             int

	mu     sync.Mutex
	links  map[uint64]*kernelLink
	nextID uint64
	active atomic.Int64
}

// newSockmapForwarder loads the program, makes the maps and the epoll set, and starts the epoll
// loop. Its error says why the kernel path is not available here.
func newSockmapForwarder() (*sockmapForwarder, error) {
	spec := &ebpf.MapSpec{Type: ebpf.SockHash, KeySize: 8, ValueSize: 8, MaxEntries: 2 * sockmapLinks}
	targets, err := ebpf.NewMap(spec)
	if err != nil {
		return nil, fmt.Errorf("making a BPF sockhash (needs CAP_BPF and CAP_NET_ADMIN, a kernel with CONFIG_BPF_SYSCALL and CONFIG_NET_SOCK_MSG; set %s=splice to stop trying): %w", ForwardingEnv, err)
	}
	verdict, err := ebpf.NewMap(spec)
	if err != nil {
		_ = targets.Close()
		return nil, fmt.Errorf("making a BPF sockhash: %w", err)
	}
	f := &sockmapForwarder{targets: targets, verdict: verdict, links: map[uint64]*kernelLink{}}
	if err := f.load(); err != nil {
		f.close()
		return nil, err
	}
	go f.loop()
	return f, nil
}

// load loads and attaches the verdict program and makes the epoll set.
func (f *sockmapForwarder) load() error {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "nodeless_fwd", Type: ebpf.SkSKB, AttachType: ebpf.AttachSkSKBVerdict, License: "GPL",
		Instructions: asm.Instructions{
			// A FIN arrives as an skb without payload; redirected, the peer's backlog would
			// send 0 bytes and take that for a broken pipe (EPIPE on the peer). Drop it: TCP
			// has taken the FIN already, and userspace passes it on (kernelLink.progress).
			asm.LoadMem(asm.R2, asm.R1, 0, asm.Word), // __sk_buff.len
			asm.JNE.Imm(asm.R2, 0, "redirect"),
			asm.Mov.Imm(asm.R0, 0), // SK_DROP
			asm.Return(),
			asm.Mov.Reg(asm.R6, asm.R1).WithSymbol("redirect"), // the skb, kept across the call
			asm.FnGetSocketCookie.Call(),
			asm.StoreMem(asm.RFP, -8, asm.R0, asm.DWord), // key = the receiving socket's cookie
			asm.Mov.Reg(asm.R1, asm.R6),
			asm.LoadMapPtr(asm.R2, f.targets.FD()),
			asm.Mov.Reg(asm.R3, asm.RFP),
			asm.Add.Imm(asm.R3, -8),
			asm.Mov.Imm(asm.R4, 0), // egress of the peer
			asm.FnSkRedirectHash.Call(),
			asm.Return(), // SK_PASS with the redirect set, or SK_DROP when the key is missing
		},
	})
	if err != nil {
		return fmt.Errorf("loading the sockmap verdict program (BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_VERDICT: kernel ≥ 5.13): %w", err)
	}
	f.prog = prog
	if err := ebpflink.RawAttachProgram(ebpflink.RawAttachProgramOptions{Target: f.verdict.FD(), Program: prog, Attach: ebpf.AttachSkSKBVerdict}); err != nil {
		return fmt.Errorf("attaching the verdict program to the sockhash (kernel ≥ 5.13): %w", err)
	}
	f.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	return nil
}

func (f *sockmapForwarder) close() {
	if f.prog != nil {
		_ = f.prog.Close()
	}
	_ = f.targets.Close()
	_ = f.verdict.Close()
}

// loop passes the epoll set's events (a FIN, an error) to their links, for the process's life.
func (f *sockmapForwarder) loop() {
	events := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(f.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			key := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			f.mu.Lock()
			l := f.links[key>>1]
			f.mu.Unlock()
			if l != nil {
				l.event(int(key&1), ev.Events)
			}
		}
	}
}

// entries counts the sockets in both maps (for tests: none once every link ended).
func (f *sockmapForwarder) entries() (int, error) {
	n := 0
	for _, m := range []*ebpf.Map{f.targets, f.verdict} {
		var k, v uint64
		it := m.Iterate()
		for it.Next(&k, &v) {
			n++
		}
		if err := it.Err(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// kernelLink is one connection forwarded by the kernel: fd[0] the client's socket, fd[1] the
// endpoint's (dups of the accepted and dialed sockets, whose Go connections are closed so that Go's
// poller no longer watches them).
type kernelLink struct {
	f  *sockmapForwarder
	id uint64

	mu     sync.Mutex
	fd     [2]int
	cookie [2]uint64
	// base[i] is what had been written on fd[i] when it entered the maps (the PROXY header).
	base [2]uint64
	// eof[i]: fd[i] received a FIN; shut[i]: fd[i]'s sending side is shut down, after every byte
	// fd[1-i] received went out on it.
	eof, shut [2]bool
	closed    bool
	// wait is the next delay before counting again whether a FIN can be passed on.
	wait  time.Duration
	timer *time.Timer
	done  chan struct{}
}

// start hands the connection client ↔ up to the kernel. ok false: it was not taken (not TCP on
// both sides, the maps full, a socket no longer established); the connections are untouched and
// the caller copies in userspace. Once taken, the link owns the sockets: client and up are closed
// (the link keeps dups of them), and done is closed when the link ended.
func (f *sockmapForwarder) start(client, up net.Conn) (*kernelLink, bool) {
	if f.active.Add(1) > sockmapLinks {
		f.active.Add(-1)
		return nil, false
	}
	l := &kernelLink{f: f, fd: [2]int{-1, -1}, done: make(chan struct{})}
	if err := l.enter(client, up); err != nil {
		l.leave()
		f.active.Add(-1)
		return nil, false
	}
	_ = client.Close()
	_ = up.Close()
	f.mu.Lock()
	f.nextID++
	l.id = f.nextID
	f.links[l.id] = l
	f.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, fd := range l.fd {
		key := l.id<<1 | uint64(i)
		ev := unix.EpollEvent{Events: unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(uint32(key)), Pad: int32(uint32(key >> 32))}
		if err := unix.EpollCtl(f.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			l.end()
			return l, true
		}
	}
	l.kick()
	return l, true
}

// enter dups both sockets and puts them in the maps: targets first, then verdict (endpoint
// first). Any error leaves nothing redirected and the connections in order for userspace (see
// unwind for the one case where some bytes were redirected already).
func (l *kernelLink) enter(client, up net.Conn) error {
	for i, c := range []net.Conn{client, up} {
		fd, err := dupConn(c)
		if err != nil {
			return err
		}
		l.fd[i] = fd
		if l.cookie[i], err = unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_COOKIE); err != nil {
			return fmt.Errorf("SO_COOKIE: %w", err)
		}
	}
	for i := range l.fd {
		w, err := written(l.fd[i])
		if err != nil {
			return err
		}
		l.base[i] = w
	}
	// targets: cookie(client) → up, cookie(up) → client.
	for i := range l.fd {
		if err := l.f.targets.Update(l.cookie[i], uint64(l.fd[1-i]), ebpf.UpdateNoExist); err != nil {
			return fmt.Errorf("sockhash update: %w", err)
		}
	}
	// verdict: the endpoint's socket first, so that where the client speaks first (HTTP) nothing
	// is redirected before both are in.
	if err := l.f.verdict.Update(l.cookie[1], uint64(l.fd[1]), ebpf.UpdateNoExist); err != nil {
		return fmt.Errorf("sockhash update: %w", err)
	}
	if err := l.f.verdict.Update(l.cookie[0], uint64(l.fd[0]), ebpf.UpdateNoExist); err != nil {
		// The client's socket stopped being established in between (its FIN or a reset): the
		// endpoint's bytes may be on their way to it already.
		l.unwind(client, up)
		return fmt.Errorf("sockhash update: %w", err)
	}
	return nil
}

// unwind stops redirecting the endpoint's bytes and waits until those it redirected went out on
// the client's socket, so that userspace can take over without reordering them; when that does
// not happen within about a second (the client does not read), it closes both connections.
func (l *kernelLink) unwind(client, up net.Conn) {
	_ = l.f.verdict.Delete(l.cookie[1])
	for wait := 100 * time.Microsecond; ; wait *= 2 {
		out, err := l.redirectedOut()
		if err == nil && out {
			return
		}
		if err != nil || wait > time.Second {
			_ = client.Close()
			_ = up.Close()
			return
		}
		time.Sleep(wait)
	}
}

// redirectedOut says whether every byte the endpoint's socket received and did not keep in its
// receive queue (SIOCINQ) was written on the client's socket. bytes_received counts a FIN.
func (l *kernelLink) redirectedOut() (bool, error) {
	ti, err := unix.GetsockoptTCPInfo(l.fd[1], unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return false, fmt.Errorf("TCP_INFO: %w", err)
	}
	inq, err := unix.IoctlGetInt(l.fd[1], unix.SIOCINQ)
	if err != nil {
		return false, fmt.Errorf("SIOCINQ: %w", err)
	}
	w, err := written(l.fd[0])
	if err != nil {
		return false, err
	}
	var fin uint64
	switch ti.State {
	case tcpCloseWait, tcpLastAck, tcpClosing, tcpTimeWait:
		fin = 1
	}
	return w-l.base[0]+uint64(inq)+fin >= ti.Bytes_received, nil
}

// TCP states after a FIN was received (include/net/tcp_states.h).
const (
	tcpTimeWait  = 6
	tcpCloseWait = 8
	tcpLastAck   = 9
	tcpClosing   = 11
)

// leave undoes a failed enter: it deletes what entered the maps and closes the dups.
func (l *kernelLink) leave() {
	for i, fd := range l.fd {
		if fd < 0 {
			continue
		}
		_ = l.f.verdict.Delete(l.cookie[i])
		_ = l.f.targets.Delete(l.cookie[i])
		_ = unix.Close(fd)
		l.fd[i] = -1
	}
}

// dupConn returns a close-on-exec dup of c's socket; c must be a *net.TCPConn.
func dupConn(c net.Conn) (int, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return -1, fmt.Errorf("%T is not a *net.TCPConn", c)
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, fmt.Errorf("dup: %w", derr)
	}
	return fd, nil
}

// written is how many bytes were written on the socket fd so far: acknowledged + still queued
// (TCP_INFO bytes_acked, which also counts a connecting socket's SYN, + SIOCOUTQ). Read in that
// order it never overstates: an ACK in between lowers the second term without raising the first.
func written(fd int) (uint64, error) {
	ti, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, fmt.Errorf("TCP_INFO: %w", err)
	}
	q, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
	if err != nil {
		return 0, fmt.Errorf("SIOCOUTQ: %w", err)
	}
	return ti.Bytes_acked + uint64(q), nil
}

// kick pushes bytes that arrived before a socket entered the verdict map through the program
// (one recv(2) does it) and notices a FIN that came before. Called with mu held.
func (l *kernelLink) kick() {
	var b [1]byte
	for i, fd := range l.fd {
		n, _, err := unix.Recvfrom(fd, b[:], unix.MSG_DONTWAIT)
		switch {
		case n == 0 && err == nil:
			l.eof[i] = true
		case n > 0 && err == nil:
			// The program passed bytes to the socket instead of redirecting them: never, as it
			// redirects or drops. Give up the connection rather than reorder it.
			l.end()
			return
		}
	}
	l.progress()
}

// event handles an epoll event of fd[i].
func (l *kernelLink) event(i int, events uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if events&unix.EPOLLERR != 0 {
		l.end()
		return
	}
	if events&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 {
		l.eof[i] = true
	}
	l.progress()
}

// progress passes on the FINs whose bytes all went out, and ends the link once both sides are
// shut. Called with mu held.
func (l *kernelLink) progress() {
	if l.closed {
		return
	}
	pending := false
	for i := range l.fd {
		j := 1 - i
		if !l.eof[i] || l.shut[j] {
			continue
		}
		flushed, err := l.flushed(i)
		if err != nil {
			l.end()
			return
		}
		if !flushed {
			pending = true
			continue
		}
		if err := unix.Shutdown(l.fd[j], unix.SHUT_WR); err != nil {
			l.end()
			return
		}
		l.shut[j] = true
	}
	if l.shut[0] && l.shut[1] {
		l.end()
		return
	}
	if pending && l.timer == nil {
		l.wait = min(max(2*l.wait, 100*time.Microsecond), 100*time.Millisecond)
		l.timer = time.AfterFunc(l.wait, l.retry)
	}
}

func (l *kernelLink) retry() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timer = nil
	l.progress()
}

// flushed says whether every byte fd[i] received (it received a FIN) went out on fd[1-i].
func (l *kernelLink) flushed(i int) (bool, error) {
	ti, err := unix.GetsockoptTCPInfo(l.fd[i], unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return false, fmt.Errorf("TCP_INFO: %w", err)
	}
	w, err := written(l.fd[1-i])
	if err != nil {
		return false, err
	}
	// bytes_received counts the FIN as one byte.
	return w-l.base[1-i]+1 >= ti.Bytes_received, nil
}

// end closes both sockets (which takes them out of the maps and the epoll set) and ends the link.
// Called with mu held.
func (l *kernelLink) end() {
	if l.closed {
		return
	}
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	for i, fd := range l.fd {
		_ = unix.Close(fd)
		l.fd[i] = -1
	}
	l.f.mu.Lock()
	delete(l.f.links, l.id)
	l.f.mu.Unlock()
	l.f.active.Add(-1)
	close(l.done)
}

// Close ends the link at once (a drain that ran out of time): bytes not yet sent are lost, as
// with a closed userspace link.
func (l *kernelLink) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.end()
	return nil
}
