"""fakekube.pod_exec: become one container of a fake pod, then exec its command.

Run by fakekube's kubelet as
    unshare --mount --uts --propagation private -- /usr/bin/python3 pod_exec.py SPEC.json ERRFD GOFD
so it starts in a private mount and UTS namespace of its own.  It then makes a PID namespace
and forks the container's first process into it (PID 1, with /proc mounted for its namespace),
staying outside as the process the kubelet waits on, which exits as PID 1 exits (what a
container runtime's shim does).  PID 1 mounts the pod's volumes
at their exact mountPaths (bind mounts; a mountPath whose parent does not exist on the host is
made on a tmpfs laid over the nearest existing directory, whose entries are bind-mounted back,
so nothing is ever created on the host), sets the hostname to the pod's, drops to the pod's
uid/gid when asked, and execs the container's argv with the container's environment.

Protocol on the two pipes: the helper writes "R" on ERRFD once it is in the new namespaces and
waits for "G" on GOFD (meanwhile the kubelet opens /proc/PID/ns/mnt, which pins the namespace so
its inode number identifies the pod's processes).  Errors before exec (a mount that fails, an
executable that cannot be run) are written to ERRFD as "E" + message; ERRFD is close-on-exec,
so the kubelet reads EOF with nothing more when the exec succeeded.  The spec is
JSON: {"argv", "exe", "env", "cwd", "hostname", "uid", "gid", "groups", "scratch",
"noNewPrivs", "keep", "imageMounts", "rootfs", "readOnlyRoot", "mounts": [{"source", "target",
"readOnly"}]}.
"imageMounts" are the image's filesystem (host files and directories bound where the image
has them), mounted before the volumes. "keep" lists host directories that stand in for the
image (the fake's PATH, paths the node env names): a volume that hides one (an emptyDir at
/tmp over a build under /tmp) gets it bound back.

A real image instead ("rootfs": the image's root filesystem, a directory such as `buildah
mount` gives): PID 1 makes the container's root the way a container runtime does, an
overlay whose lower layer is that directory and whose writable layer is a tmpfs of this
mount namespace (fresh per container; nothing is written to the image or the host), with
/proc of its PID namespace, a /dev of its own (null, zero, full, random, urandom, tty bound
from the host; pts, shm, the fd links) and /sys read-only; it pivots into it, mounts the
volumes at their mountPaths inside that root, then detaches the host's root, so the process
sees the image and the volumes only (their mount points are made in the writable layer,
symlinks resolve inside the image: /var/run is the image's), the root is made read-only when
"readOnlyRoot" (securityContext.readOnlyRootFilesystem) says so, and argv[0] is looked up
in the container's PATH inside the image ("exe" is not given).
"""

import ctypes
import json
import os
import signal
import stat
import sys

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MNT_DETACH = 2
CLONE_NEWPID = 0x20000000
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 217}
# the device nodes a container runtime gives every container (bound from the host's)
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")

_libc = ctypes.CDLL(None, use_errno=True)


class ExecError(Exception):
    pass


def mount(source, target, fstype, flags, data=None):
    def enc(s):
        return None if s is None else os.fsencode(s)
    if _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise ExecError("mount %s on %s (%s): %s" % (source, target, fstype or "bind", os.strerror(err)))


class Mounter:
    """Makes mount points without touching the host: see the module docstring."""

    def __init__(self, scratch):
        self.scratch = scratch
        self.shadows = 0
        self.owned = set()  # real paths of directories that live on our own tmpfs

    def _shadow(self, directory):
        """Lay a tmpfs over `directory` that holds bind mounts of all its entries."""
        if directory == "/":
            raise ExecError("cannot create a new top-level directory in the fake's pods "
                            "(mountPath needs /<new>); use a path under an existing directory")
        self.shadows += 1
        tmp = os.path.join(self.scratch, "shadow-%d" % self.shadows)
        os.makedirs(tmp, exist_ok=True)
        mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
        # entries of a read-only mount (an image's files) stay read-only when bound back
        read_only = bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
        for entry in os.listdir(directory):
            src = os.path.join(directory, entry)
            dst = os.path.join(tmp, entry)
            st = os.lstat(src)
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(src), dst)
                continue
            if stat.S_ISDIR(st.st_mode):
                os.mkdir(dst)
            else:
                open(dst, "w").close()
            mount(src, dst, None, MS_BIND | MS_REC)
            if read_only:
                mount(None, dst, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        st = os.stat(directory)
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.chown(tmp, st.st_uid, st.st_gid)
        mount(tmp, directory, None, MS_MOVE)
        self.owned.add(directory)

    def ensure(self, target, is_dir):
        """Make `target` exist as a directory or file, creating only on our tmpfs layers."""
        if os.path.lexists(target):
            real = os.path.realpath(target)
            if is_dir and not os.path.isdir(real):
                raise ExecError("mountPath %s exists and is not a directory" % target)
            if not is_dir and os.path.isdir(real):
                raise ExecError("mountPath %s is a directory but the source is a file" % target)
            return real
        parent = os.path.dirname(target.rstrip("/")) or "/"
        real_parent = self.ensure(parent, True)
        if real_parent not in self.owned:
            self._shadow(real_parent)
        path = os.path.join(real_parent, os.path.basename(target.rstrip("/")))
        if is_dir:
            os.mkdir(path, 0o755)
            self.owned.add(path)
        else:
            open(path, "w").close()
        return path

    def bind(self, source, target, read_only):
        real = self.ensure(target, os.path.isdir(source))
        mount(source, real, None, MS_BIND | MS_REC)
        self.owned.discard(real)  # covered now: a new entry below it needs a shadow of its own
        if read_only:
            mount(None, real, None, MS_BIND | MS_REMOUNT | MS_RDONLY)


def _root_layers(spec):
    """The container's root: an overlay of the image's filesystem under a writable tmpfs
    layer, with /proc, /dev and /sys as a container runtime makes them; its path."""
    layer = os.path.join(spec["scratch"], "layer")
    root = os.path.join(spec["scratch"], "root")
    for d in (layer, root):
        os.makedirs(d, exist_ok=True)
    mount("tmpfs", layer, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for d in ("upper", "work"):
        os.mkdir(os.path.join(layer, d))
    rootfs = os.path.realpath(spec["rootfs"])
    if not os.path.isdir(os.path.join(rootfs, "usr")):
        raise ExecError("image root filesystem %s is not one (no usr/ in it)" % spec["rootfs"])
    mount("overlay", root, "overlay", 0, "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (rootfs, layer, layer))
    for d, mode in (("proc", 0o555), ("dev", 0o755), ("sys", 0o555)):
        path = os.path.join(root, d)
        if not os.path.isdir(path):
            os.mkdir(path, mode)
    mount("proc", os.path.join(root, "proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    dev = os.path.join(root, "dev")
    mount("tmpfs", dev, "tmpfs", MS_NOSUID, "mode=0755,size=65536k")
    for name in DEVICES:
        open(os.path.join(dev, name), "w").close()
        mount("/dev/" + name, os.path.join(dev, name), None, MS_BIND)
    for d, mode in (("pts", 0o755), ("shm", 0o1777)):
        os.mkdir(os.path.join(dev, d))
        os.chmod(os.path.join(dev, d), mode)
    mount("devpts", os.path.join(dev, "pts"), "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
    mount("shm", os.path.join(dev, "shm"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx")):
        os.symlink(target, os.path.join(dev, name))
    mount("/sys", os.path.join(root, "sys"), None, MS_BIND | MS_REC)
    mount(None, os.path.join(root, "sys"), None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    return root


OLD_ROOT = "/.fakekube-host"


def _pivot(root):
    """Make ROOT this mount namespace's root; the host's stays at OLD_ROOT (in the writable
    layer) until _let_go: a bind mount needs its source attached to this namespace."""
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise ExecError("pivot_root: no system call number known for %s" % os.uname().machine)
    os.mkdir(root + OLD_ROOT, 0o700)
    os.chdir(root)
    if _libc.syscall(number, b".", b"." + OLD_ROOT.encode()) != 0:
        raise ExecError("pivot_root to %s: %s" % (root, os.strerror(ctypes.get_errno())))
    os.chdir("/")


def _let_go():
    """Detach the host's root from the container's mounts, and its mount point."""
    if _libc.umount2(OLD_ROOT.encode(), MNT_DETACH) != 0:
        raise ExecError("detaching the host's root: %s" % os.strerror(ctypes.get_errno()))
    os.rmdir(OLD_ROOT)


def _look_up(argv0, path):
    """argv[0] as the container's runtime finds it: as given when it has a slash, else the
    first executable file of that name in PATH; None when there is none."""
    if "/" in argv0:
        candidates = [argv0]
    else:
        candidates = [os.path.join(d or ".", argv0) for d in path.split(":")]
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def become_image(spec):
    """The container of a real image (spec "rootfs"): see the module docstring."""
    # every source is a host path: opened before the host's root goes away
    sources = [os.open(m["source"], os.O_PATH) for m in spec["mounts"]]
    for m in spec["mounts"]:
        if not os.path.isabs(m["target"]):
            raise ExecError("mountPath %s is not absolute" % m["target"])
    _pivot(_root_layers(spec))
    for m, fd in zip(spec["mounts"], sources):
        target = os.path.realpath(os.path.normpath(m["target"]))  # inside the image now
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        if os.path.lexists(target):
            if is_dir != os.path.isdir(target):
                raise ExecError("mountPath %s exists in the image and is %sa directory"
                                % (m["target"], "not " if is_dir else ""))
        elif is_dir:
            os.makedirs(target, 0o755)
        else:
            os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
            open(target, "w").close()
        mount("/proc/self/fd/%d" % fd, target, None, MS_BIND | MS_REC)
        if m.get("readOnly", False):
            mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        os.close(fd)
    _let_go()
    if spec.get("readOnlyRoot"):
        mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    exe = _look_up(spec["argv"][0], spec["env"].get("PATH", ""))
    if exe is None:
        raise ExecError('exec: "%s": executable file not found in $PATH' % spec["argv"][0])
    return exe


def become(spec):
    """Mount the image and the volumes, take the pod's identity and working directory; the
    executable to exec."""
    if spec.get("rootfs"):
        exe = become_image(spec)
    else:
        exe = spec["exe"]
        become_host(spec)
    _identity(spec)
    if not os.access(exe, os.X_OK):
        raise ExecError('exec: "%s": permission denied' % spec["argv"][0])
    return exe


def become_host(spec):
    """An image whose files are host paths: see the module docstring."""
    mounter = Mounter(spec["scratch"])
    # Host directories that stand in for the image (spec "keep", plus the executable's
    # own): held open so that, if a volume hides them, they can be bound back.
    # The image's own files come first (what the container sees of them is the image); the
    # volumes then go over the image.
    # Every source is opened first: a mount below may hide the path of a later one (an
    # emptyDir at /tmp over a state directory under /tmp).
    sources = [os.open(m["source"], os.O_PATH) for m in spec.get("imageMounts", []) + spec["mounts"]]
    for m, fd in zip(spec.get("imageMounts", []), sources):
        mounter.bind("/proc/self/fd/%d" % fd, os.path.normpath(m["target"]), m.get("readOnly", False))
    keep = {}
    for d in list(spec.get("keep", [])) + [os.path.dirname(os.path.realpath(spec["exe"]))]:
        if d not in keep and os.path.isdir(d):
            keep[d] = os.open(d, os.O_PATH | os.O_DIRECTORY)
    for m, fd in zip(spec["mounts"], sources[len(spec.get("imageMounts", [])):]):
        if not os.path.isabs(m["target"]):
            raise ExecError("mountPath %s is not absolute" % m["target"])
        mounter.bind("/proc/self/fd/%d" % fd, os.path.normpath(m["target"]), m.get("readOnly", False))
    for fd in sources:
        os.close(fd)
    for d, fd in keep.items():
        held = os.fstat(fd)
        try:
            now = os.stat(d)
            hidden = (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino)
        except OSError:
            hidden = True
        if hidden:
            mounter.bind("/proc/self/fd/%d" % fd, d, True)
        os.close(fd)


def _identity(spec):
    """The pod's hostname, no_new_privs, uid/gid/groups and working directory."""
    if spec.get("hostname"):
        import socket
        socket.sethostname(spec["hostname"][:64])
    if spec.get("noNewPrivs"):  # allowPrivilegeEscalation: false
        if _libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            raise ExecError("prctl(PR_SET_NO_NEW_PRIVS): %s" % os.strerror(ctypes.get_errno()))
    if spec.get("uid") is not None:
        gid = spec.get("gid")
        if gid is None:
            gid = spec["uid"]
        os.setgroups([g for g in spec.get("groups", [])])
        os.setgid(gid)
        os.setuid(spec["uid"])
    cwd = spec.get("cwd") or "/"
    try:
        os.chdir(cwd)
    except OSError as e:
        raise ExecError("chdir to working directory %s: %s" % (cwd, e.strerror))


def _wait_for_pid1(pid, errfd, gofd):
    """The helper's own end: it stays outside the pod's PID namespace as the process the
    kubelet waits on (what a container runtime's shim is), ignoring the signals meant for the
    container, and ends as the container's PID 1 ended."""
    os.close(errfd)
    os.close(gofd)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFEXITED(status):
        os._exit(os.WEXITSTATUS(status))
    sig = os.WTERMSIG(status)
    if sig not in (signal.SIGKILL, signal.SIGSTOP):  # those two have no handler to reset
        signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)
    os._exit(128 + sig)


def main():
    spec_path, errfd, gofd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.set_inheritable(errfd, False)
    os.set_inheritable(gofd, False)
    try:
        with open(spec_path) as f:
            spec = json.load(f)
        # we are in the pod's namespaces now: let the kubelet take hold of them before any
        # process of the pod can exist without it knowing
        os.write(errfd, b"R")
        if os.read(gofd, 1) != b"G":
            os._exit(128)
        # The container's processes get a PID namespace of their own: its first process is
        # PID 1 (signals without a handler do nothing to it; orphans become its children).
        if _libc.unshare(CLONE_NEWPID) != 0:
            raise ExecError("unshare(CLONE_NEWPID): %s" % os.strerror(ctypes.get_errno()))
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT])
        pid = os.fork()
        if pid:
            try:
                _wait_for_pid1(pid, errfd, gofd)
            finally:
                os._exit(128)  # never reached but by a bug: never run the child's code below
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this namespace's processes
        exe = become(spec)
        os.execve(exe, spec["argv"], spec["env"])
    except (ExecError, OSError) as e:
        os.write(errfd, b"E" + (str(e).encode() or b"exec failed"))
        os._exit(128)


if __name__ == "__main__":
    main()
