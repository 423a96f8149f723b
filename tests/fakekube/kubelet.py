"""fakekube.kubelet: the scheduler and kubelet of fakekube, one PodWorker thread per Pod.

A PodWorker moves its Pod through what a real cluster does and writes it into the store:
Pending/Unschedulable (FailedScheduling, repeating while the unschedulable fault holds) ->
Scheduled -> ContainerCreating (pod IP assigned) -> Pulling/Pulled (or ErrImagePull ->
ImagePullBackOff, repeating) -> Created -> Started/Running -> Ready (process alive and, if the
container has one, its tcpSocket/httpGet readinessProbe answers) -> Succeeded/Failed with the
exit code (Completed/Error/OOMKilled), or restarts with CrashLoopBackOff per restartPolicy.

The first container runs as a local process: command[0] is resolved through the server's
`path`, env is built like the kubelet's (value, $(VAR) expansion, fieldRef, resourceFieldRef,
secretKeyRef, configMapKeyRef, envFrom), and volumes (secret, configMap, downwardAPI, projected,
emptyDir; a persistentVolumeClaim is one folder per claim that every pod mounting it shares) are written the way the kubelet's atomic writer does (..data symlink to a timestamped
directory; file modes from defaultMode/items[].mode; fsGroup ownership) and bind-mounted at
their mountPath in a private mount namespace by pod_exec.py.  The process is a process
group leader; every process of the pod is found by its mount namespace.  A real image (one
with a "rootfs", fakekube/images.py) runs inside its own root filesystem instead: its ENV,
USER (unless the pod names a runAsUser), HOME from its /etc/passwd, its PATH for argv[0],
the host's /etc/resolv.conf as the kubelet's, and nothing else of the host but the volumes.
"""

import base64
import datetime
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import traceback

from . import dns, images

HERE = os.path.dirname(os.path.abspath(__file__))
EXEC_HELPER = os.path.join(HERE, "pod_exec.py")
PYTHON = "/usr/bin/python3"
# A container's namespaces: its own mounts and hostname here, its own process ids in the exec
# helper (PID 1 has PID 1's rules: no default action for signals it does not handle, orphans
# reparented to it, everything killed when it exits); the network is the host's.
UNSHARE = ["unshare", "--mount", "--uts", "--propagation", "private", "--"]
KILL_WAIT_S = 10  # the most kill_all(SIGKILL) waits for the pod's processes to be gone
STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NODE_ALLOCATABLE = {"cpu": "8", "memory": "32Gi", "ephemeral-storage": "100Gi"}
_runtime_check = []


def check_runtime():
    """None when pods can run here, else the reason (unshare of a mount namespace failed)."""
    if not _runtime_check:
        try:
            r = subprocess.run(UNSHARE + ["true"],
                               capture_output=True, timeout=30)
            err = None if r.returncode == 0 else (
                "fakekube: cannot run pods: `%s` failed "
                "(exit %d): %s (run the tests as root on Linux)" % (" ".join(UNSHARE[:-1]), r.returncode,
                                                                     r.stderr.decode().strip()))
        except (OSError, subprocess.SubprocessError) as e:
            err = "fakekube: cannot run pods: unshare: %s" % e
        _runtime_check.append(err)
    return _runtime_check[0]


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration(seconds):
    """A time.Duration truncated to milliseconds, printed as Go prints it (0s, 52ms, 1.2s, 1m2.5s)."""
    ms = int(seconds * 1000)
    if ms == 0:
        return "0s"
    if ms < 1000:
        return "%dms" % ms
    minutes, rest = divmod(ms, 60000)
    secs = ("%d.%03d" % divmod(rest, 1000)).rstrip("0").rstrip(".") + "s"
    return ("%dm" % minutes if minutes else "") + secs


def full_image_name(image):
    name = image
    first = name.split("/")[0]
    if "/" not in name:
        name = "docker.io/library/" + name
    elif "." not in first and ":" not in first and first != "localhost":
        name = "docker.io/" + name
    if "@" not in name and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_SUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1024, "Mi": 1024 ** 2,
           "Gi": 1024 ** 3, "Ti": 1024 ** 4}


def quantity(q):
    m = _QUANTITY.match(str(q))
    if not m or m.group(2) not in _SUFFIX:
        return 0.0
    return float(m.group(1)) * _SUFFIX[m.group(2)]


class ConfigError(Exception):
    """A missing Secret/ConfigMap/key: CreateContainerConfigError or FailedMount, retried."""

    def __init__(self, message, mount=False):
        super().__init__(message)
        self.mount = mount


class PodWorker(threading.Thread):
    """Scheduler + kubelet for one Pod."""

    def __init__(self, fake, pod):
        super().__init__(name="fakekube-pod-%s" % pod["metadata"]["name"], daemon=True)
        self.fake = fake
        self.pod = pod
        self.namespace = pod["metadata"]["namespace"]
        self.name = pod["metadata"]["name"]
        self.uid = pod["metadata"]["uid"]
        self.dir = os.path.join(fake.state_dir, "pods", "%s_%s_%s" % (self.namespace, self.name, self.uid[:8]))
        self.log_path = None
        self.proc = None
        self.pid = None
        self.mntns = None
        self.exit_code = None
        self.pod_ip = None
        self.node = None
        self._cond = threading.Condition()
        self._delete_grace = None
        self._actions = []
        self._shutdown = False
        self._exited = False
        self._ns_fds = []     # open fds of the pod's mount namespaces (pin their inode numbers)
        self._ns_ids = set()  # their (st_dev, st_ino)
        self._container = pod["spec"]["containers"][0]["name"]
        self.hosts_path = None
        self._hosts_written = None
        self.done = False
        self.started = False

    # -- control from the server -----------------------------------------------------------
    def wake(self):
        with self._cond:
            self._cond.notify_all()

    def request_delete(self, grace):
        with self._cond:
            if self._delete_grace is None or grace < self._delete_grace:
                self._delete_grace = grace
            self._cond.notify_all()

    def action(self, kind, message):
        with self._cond:
            self._actions.append((kind, message))
            self._cond.notify_all()

    def shutdown(self):
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()
        self.kill_all()

    def live_pids(self):
        """Every live process of this pod: the container's process and all in its mount namespace."""
        pids = set()
        if self.proc is not None and self.proc.poll() is None:
            pids.add(self.proc.pid)
        ids = set(self._ns_ids)
        if ids:
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    st = os.stat("/proc/%s/ns/mnt" % entry)
                    if (st.st_dev, st.st_ino) in ids:
                        with open("/proc/%s/stat" % entry) as f:
                            state = f.read().rsplit(")", 1)[1].split()[0]
                        if state != "Z":
                            pids.add(int(entry))
                except OSError:
                    pass
        return sorted(pids)

    def kill_all(self, sig=signal.SIGKILL):
        """SIG to every process of the pod. SIGKILL returns once none is left alive (as a
        container runtime reports a container stopped when its last process is gone): kill()
        only queues the signal, and a process of a busy machine may still run a moment."""
        deadline = time.monotonic() + KILL_WAIT_S
        while True:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, sig)
                except OSError:
                    pass
            left = self.live_pids()
            for pid in left:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            if sig != signal.SIGKILL or not left or time.monotonic() > deadline:
                return
            time.sleep(0.01)

    # -- waiting ---------------------------------------------------------------------------
    def _interrupted(self):
        return self._shutdown or self._delete_grace is not None

    def _sleep(self, seconds):
        """Wait; False when a delete/shutdown arrived (the caller stops)."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while not self._interrupted():
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                self._cond.wait(left)
            return False

    def _phase(self, phase):
        """The slow_start delay of PHASE, then any hold() gate on it; False when interrupted."""
        if not self._sleep(self.fake.faults.delay(phase)):
            return False
        gate = self.fake.faults.gate(phase)
        with self._cond:
            while gate is not None and not gate.is_set():
                if self._interrupted():
                    return False
                self._cond.wait(0.05)
        return not self._interrupted()

    # -- store helpers ---------------------------------------------------------------------
    def _update(self, fn):
        new = self.fake.store.update("pods", self.namespace, self.name, fn, self.uid)
        if new is not None:
            self.pod = new
        return new

    def _event(self, reason, message, type_="Normal", component="kubelet", container=True):
        fp = "spec.containers{%s}" % self._container if container else None
        try:
            self.fake.record_event(self.pod, reason, message, type_, component, fp,
                                   self.node if component == "kubelet" else None)
        except Exception:  # an event must never break the pod
            traceback.print_exc()

    def _set_condition(self, pod, ctype, status, reason=None, message=None):
        conds = pod["status"].setdefault("conditions", [])
        for c in conds:
            if c["type"] == ctype:
                if c["status"] != status:
                    c["lastTransitionTime"] = now()
                c["status"] = status
                c.pop("reason", None)
                c.pop("message", None)
                break
        else:
            c = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": now()}
            conds.append(c)
        if reason:
            c["reason"] = reason
        if message:
            c["message"] = message

    def _container_statuses(self, pod, state, ready=False, started=False, restarts=0, last=None,
                            container_id=None):
        out = []
        for i, c in enumerate(pod["spec"]["containers"]):
            st = {"name": c["name"], "image": c["image"], "imageID": "", "ready": False,
                  "restartCount": 0, "started": False, "state": state, "lastState": {}}
            if i == 0:
                st.update(ready=ready, started=started, restartCount=restarts)
                if last:
                    st["lastState"] = last
                if container_id:
                    st["containerID"] = container_id
            elif "running" in state or "terminated" in state:
                st.update(ready="running" in state, started="running" in state,
                          state={"running": {"startedAt": now()}} if "running" in state else state)
            if "waiting" not in st["state"]:
                st["imageID"] = full_image_name(c["image"]).split(":")[0] + "@sha256:" + \
                    ("%064x" % (abs(hash(c["image"])) % (1 << 256)))
            out.append(st)
        return out

    # -- the pod's life --------------------------------------------------------------------
    def run(self):
        try:
            self._live()
        except Exception:
            traceback.print_exc()
        finally:
            self.kill_all()
            if self.proc is not None:
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    pass
            self._release_namespaces()
            self.done = True  # the pod runs nothing any more
            if self._delete_grace is not None and not self._shutdown:
                self.fake.pod_terminated(self.uid, self.namespace, self.name)

    def _live(self):
        if not self._schedule():
            return
        if not self._sandbox():
            return
        ctr = self.pod["spec"]["containers"][0]
        if not self._pull(ctr, first=True):
            return
        restarts = 0
        last = None
        backoff = 0.5
        while True:
            result = self._run_container(ctr, restarts, last)
            if result is None:
                return  # deleted, evicted or shut down: already handled
            code, reason, terminated = result
            policy = self.pod["spec"].get("restartPolicy", "Always")
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                self._finish(code, terminated)
                return
            last = {"terminated": terminated}
            msg = "back-off %s restarting failed container=%s pod=%s_%s(%s)" % (
                go_duration(backoff), ctr["name"], self.name, self.namespace, self.uid)
            self._event("BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)"
                        % (ctr["name"], self.name, self.namespace, self.uid), "Warning")

            def crashloop(p, last=last, msg=msg, restarts=restarts):
                p["status"]["containerStatuses"] = self._container_statuses(
                    p, {"waiting": {"reason": "CrashLoopBackOff", "message": msg}},
                    restarts=restarts, last=last)
                self._set_condition(p, "Ready", "False", "ContainersNotReady",
                                    "containers with unready status: [%s]" % ctr["name"])
                self._set_condition(p, "ContainersReady", "False", "ContainersNotReady",
                                    "containers with unready status: [%s]" % ctr["name"])
            self._update(crashloop)
            if not self._sleep(backoff):
                return
            backoff = min(backoff * 2, 4.0)
            restarts += 1
            self._event("Pulled", 'Container image "%s" already present on machine' % ctr["image"])

    def _schedule(self):
        faults = self.fake.faults
        if not self._phase("schedule"):
            return False
        while True:
            msg = faults.unschedulable_message(self.namespace, self.name)
            if msg is None:
                break

            def unsched(p, msg=msg):
                self._set_condition(p, "PodScheduled", "False", "Unschedulable", msg)
            if self._update(unsched) is None:
                return False
            self._event("FailedScheduling", msg, "Warning", "default-scheduler", container=False)
            with self._cond:
                if self._interrupted():
                    return False
                self._cond.wait(1.0)
                if self._interrupted():
                    return False
        self.node = self.fake.nodes[0]

        def bind(p):
            p["spec"]["nodeName"] = self.node
            self._set_condition(p, "PodScheduled", "True")
        if self._update(bind) is None:
            return False
        self._event("Scheduled", "Successfully assigned %s/%s to %s" % (self.namespace, self.name, self.node),
                    "Normal", "default-scheduler", container=False)
        return True

    def _sandbox(self):
        self.pod_ip = self.fake.allocate_pod_ip()
        ctr_names = [c["name"] for c in self.pod["spec"]["containers"]]

        def creating(p):
            st = p["status"]
            st.update(hostIP="127.0.0.1", hostIPs=[{"ip": "127.0.0.1"}], podIP=self.pod_ip,
                      podIPs=[{"ip": self.pod_ip}], startTime=now(), phase="Pending")
            self._set_condition(p, "PodReadyToStartContainers", "True")
            self._set_condition(p, "Initialized", "True")
            self._set_condition(p, "Ready", "False", "ContainersNotReady",
                                "containers with unready status: [%s]" % " ".join(ctr_names))
            self._set_condition(p, "ContainersReady", "False", "ContainersNotReady",
                                "containers with unready status: [%s]" % " ".join(ctr_names))
            st["containerStatuses"] = self._container_statuses(p, {"waiting": {"reason": "ContainerCreating"}})
        return self._update(creating) is not None

    def _pull(self, ctr, first):
        """Pulling, the pull time (slow_start pull=), then Pulled or Failed, as the kubelet does;
        failures repeat with ErrImagePull -> ImagePullBackOff until the fault is cleared."""
        faults = self.fake.faults
        image = ctr["image"]
        backoff = 0.5
        cached = getattr(self.fake, "_pulled_images", None)
        if cached is None:
            cached = self.fake._pulled_images = set()
        if ctr.get("imagePullPolicy") == "IfNotPresent" and image in cached:
            self._event("Pulled", 'Container image "%s" already present on machine' % image)
            return True
        while True:
            self._event("Pulling", 'Pulling image "%s"' % image)
            started = time.monotonic()
            if not self._phase("pull"):
                return False
            took = time.monotonic() - started
            failure = faults.pull_failure(image)
            if failure is None:
                break
            full = full_image_name(image)
            detail = failure or ('rpc error: code = NotFound desc = failed to pull and unpack image "%s": '
                                 'failed to resolve reference "%s": %s: not found'
                                 % (full, full, full.rsplit(":", 1)[0] if "@" not in full else full))
            self._event("Failed", 'Failed to pull image "%s": %s' % (image, detail), "Warning")
            self._event("Failed", "Error: ErrImagePull", "Warning")

            def errpull(p, detail=detail):
                p["status"]["containerStatuses"] = self._container_statuses(
                    p, {"waiting": {"reason": "ErrImagePull", "message": detail}})
            self._update(errpull)
            if not self._sleep(backoff):
                return False
            self._event("BackOff", 'Back-off pulling image "%s"' % image)
            self._event("Failed", "Error: ImagePullBackOff", "Warning")

            def backoffpull(p, detail=detail):
                p["status"]["containerStatuses"] = self._container_statuses(
                    p, {"waiting": {"reason": "ImagePullBackOff",
                                    "message": 'Back-off pulling image "%s": ErrImagePull: %s' % (image, detail)}})
            self._update(backoffpull)
            if not self._sleep(backoff):
                return False
            backoff = min(backoff * 2, 4.0)
        size = 100000000 + abs(hash(image)) % 900000000
        self._event("Pulled", 'Successfully pulled image "%s" in %s (%s including waiting). Image size: %d bytes.'
                    % (image, go_duration(took), go_duration(took), size))
        cached.add(image)
        return True

    # -- the container ---------------------------------------------------------------------
    def _run_container(self, ctr, restarts, last):
        """Create and start the container, wait for it.  Returns (exit code, reason,
        terminated state) when it exited, None when the pod is done (deleted, evicted...)."""
        faults = self.fake.faults
        while True:
            if not self._phase("create"):
                return None
            try:
                spec = self._prepare(ctr, restarts)
                break
            except ConfigError as e:
                if e.mount:
                    self._event("FailedMount", str(e), "Warning", container=False)
                    waiting = {"reason": "ContainerCreating"}
                else:
                    self._event("Failed", "Error: %s" % e, "Warning")
                    waiting = {"reason": "CreateContainerConfigError", "message": str(e)}

                def cfgerr(p, waiting=waiting):
                    p["status"]["containerStatuses"] = self._container_statuses(p, {"waiting": waiting},
                                                                                restarts=restarts, last=last)
                self._update(cfgerr)
                if not self._sleep(1.0):
                    return None
        self._event("Created", "Created container: %s" % ctr["name"])
        if not self._phase("start"):
            return None
        container_id = "containerd://%064x" % (int.from_bytes(os.urandom(32), "big"))
        started_at = now()
        err = self._spawn(spec)
        if err is not None:
            message = ("failed to create containerd task: failed to create shim task: OCI runtime create "
                       "failed: runc create failed: unable to start container process: %s: unknown" % err)
            self._event("Failed", "Error: %s" % message, "Warning")
            term = {"exitCode": 128, "reason": "StartError", "message": message,
                    "startedAt": "1970-01-01T00:00:00Z", "finishedAt": now(), "containerID": container_id}
            self._set_terminated(term, restarts, last, container_id)
            return 128, "StartError", term
        self._event("Started", "Started container %s" % ctr["name"])

        def running(p):
            p["status"]["phase"] = "Running"
            p["status"]["containerStatuses"] = self._container_statuses(
                p, {"running": {"startedAt": started_at}}, started=True, restarts=restarts, last=last,
                container_id=container_id)
        self._update(running)
        ready = False
        ready_after = time.monotonic() + faults.delay("ready")
        oom = False
        while True:
            with self._cond:
                if self._shutdown:
                    return None
                action = self._actions.pop(0) if self._actions else None
                deleting = self._delete_grace is not None
                exited = self.proc.poll() is not None
                if not (action or deleting or exited or (not ready and time.monotonic() >= ready_after)):
                    self._cond.wait(0.1)
                    continue
            if deleting:
                self._graceful_stop(ctr, restarts, last, container_id, started_at)
                return None
            if action and action[0] == "evict":
                self._evict(ctr, action[1], restarts, last, container_id, started_at)
                return None
            if action and action[0] == "oom":
                oom = True
                self.kill_all(signal.SIGKILL)
                self.proc.wait()
                exited = True
            if exited:
                code = self._reap()
                reason = "OOMKilled" if oom else ("Completed" if code == 0 else "Error")
                term = {"exitCode": code, "reason": reason, "startedAt": started_at, "finishedAt": now(),
                        "containerID": container_id}
                message = self._termination_message(ctr, code)
                if message:
                    term["message"] = message
                self._set_terminated(term, restarts, last, container_id)
                return code, reason, term
            if not ready and time.monotonic() >= ready_after and self._probe(ctr):
                ready = True

                def mark_ready(p):
                    p["status"]["containerStatuses"] = self._container_statuses(
                        p, {"running": {"startedAt": started_at}}, ready=True, started=True,
                        restarts=restarts, last=last, container_id=container_id)
                    self._set_condition(p, "ContainersReady", "True")
                    self._set_condition(p, "Ready", "True")
                self._update(mark_ready)

    def _termination_message(self, ctr, code):
        """terminationMessagePolicy FallbackToLogsOnError: a container that failed without
        writing its termination message file gets the end of its log instead, at most 80
        lines and 2048 bytes (the kubelet's limits).  No file is read here: the fake gives
        containers no /dev/termination-log."""
        if code == 0 or ctr.get("terminationMessagePolicy") != "FallbackToLogsOnError" or not self.log_path:
            return None
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        tail = b"".join(data.splitlines(keepends=True)[-80:])[-2048:]
        return tail.decode("utf-8", "replace") or None

    def _reap(self):
        rc = self.proc.wait()
        # the rest of the container dies with its main process, and the status says so only
        # once every process is gone (as the runtime reports a stopped container)
        for _ in range(100):
            self.kill_all()
            if not self.live_pids():
                break
            time.sleep(0.05)
        self.exit_code = rc if rc >= 0 else 128 - rc
        return self.exit_code

    def _set_terminated(self, term, restarts, last, container_id):
        def terminated(p):
            p["status"]["containerStatuses"] = self._container_statuses(
                p, {"terminated": term}, restarts=restarts, last=last, container_id=container_id)
            self._set_condition(p, "ContainersReady", "False", "ContainersNotReady",
                                "containers with unready status: [%s]" % self._container)
            self._set_condition(p, "Ready", "False", "ContainersNotReady",
                                "containers with unready status: [%s]" % self._container)
        self._update(terminated)

    def _finish(self, code, terminated):
        def final(p):
            p["status"]["phase"] = "Succeeded" if code == 0 else "Failed"
            self._set_condition(p, "PodReadyToStartContainers", "False")
            self._set_condition(p, "ContainersReady", "False", "PodCompleted")
            self._set_condition(p, "Ready", "False", "PodCompleted")
        self._update(final)

    def _graceful_stop(self, ctr, restarts, last, container_id, started_at):
        grace = min(self._delete_grace, self.fake.max_grace_seconds)
        self._event("Killing", "Stopping container %s" % ctr["name"])
        if grace > 0:
            self.kill_all(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        self.kill_all(signal.SIGKILL)
        code = self._reap()
        term = {"exitCode": code, "reason": "Completed" if code == 0 else "Error", "startedAt": started_at,
                "finishedAt": now(), "containerID": container_id}
        self._set_terminated(term, restarts, last, container_id)
        self._finish(code, term)  # a pod stopped for deletion ends Succeeded/Failed, whatever its restartPolicy

    def _evict(self, ctr, message, restarts, last, container_id, started_at):
        message = message or ("The node was low on resource: memory. Threshold quantity: 100Mi, "
                              "available: 51200Ki. Container %s was using 2Gi, request is 0, has larger "
                              "consumption of memory. " % ctr["name"])
        self._event("Evicted", message, "Warning", container=False)
        self._event("Killing", "Stopping container %s" % ctr["name"])
        self.kill_all(signal.SIGKILL)
        code = self._reap()
        term = {"exitCode": code, "reason": "Error", "startedAt": started_at, "finishedAt": now(),
                "containerID": container_id}

        def evicted(p):
            p["status"]["phase"] = "Failed"
            p["status"]["reason"] = "Evicted"
            p["status"]["message"] = message
            p["status"]["containerStatuses"] = self._container_statuses(
                p, {"terminated": term}, restarts=restarts, last=last, container_id=container_id)
            self._set_condition(p, "DisruptionTarget", "True", "TerminationByKubelet", message)
            self._set_condition(p, "PodReadyToStartContainers", "False")
            self._set_condition(p, "ContainersReady", "False", "PodFailed")
            self._set_condition(p, "Ready", "False", "PodFailed")
        self._update(evicted)

    def _probe(self, ctr):
        if self.proc.poll() is not None:
            return False
        probe = ctr.get("readinessProbe")
        if not probe:
            return True
        ports = {p.get("name"): p.get("containerPort") for p in ctr.get("ports") or []}

        def port_of(p):
            return ports.get(p) if isinstance(p, str) and not p.isdigit() else int(p)
        try:
            if "tcpSocket" in probe:
                host = probe["tcpSocket"].get("host") or self.pod_ip
                with socket.create_connection((host, port_of(probe["tcpSocket"]["port"])), timeout=1):
                    return True
            if "httpGet" in probe:
                hg = probe["httpGet"]
                conn = http.client.HTTPConnection(hg.get("host") or self.pod_ip, port_of(hg["port"]), timeout=1)
                conn.request("GET", hg.get("path", "/"))
                ok = 200 <= conn.getresponse().status < 400
                conn.close()
                return ok
        except (OSError, TypeError, http.client.HTTPException):
            return False
        return True  # exec/grpc probes are not run: the live process counts as ready

    # -- building the container ------------------------------------------------------------
    def _lookup(self, resource, name):
        return self.fake.store.get(resource, self.namespace, name)

    def _field(self, path):
        p = self.pod
        m = re.match(r"^metadata\.(labels|annotations)\['(.+)'\]$", path)
        if m:
            return (p["metadata"].get(m.group(1)) or {}).get(m.group(2), "")
        if path in ("metadata.labels", "metadata.annotations"):
            d = p["metadata"].get(path.split(".")[1]) or {}
            return "\n".join('%s="%s"' % (k, d[k]) for k in sorted(d))
        simple = {"metadata.name": p["metadata"]["name"], "metadata.namespace": self.namespace,
                  "metadata.uid": self.uid, "spec.nodeName": self.node or "",
                  "spec.serviceAccountName": p["spec"].get("serviceAccountName", ""),
                  "status.podIP": self.pod_ip or "", "status.podIPs": self.pod_ip or "",
                  "status.hostIP": "127.0.0.1", "status.hostIPs": "127.0.0.1"}
        if path not in simple:
            raise ConfigError("unsupported fieldPath: %s" % path)
        return simple[path]

    def _resource_field(self, ref, default_container):
        cname = ref.get("containerName") or default_container
        ctr = next((c for c in self.pod["spec"]["containers"] if c["name"] == cname), None)
        if ctr is None:
            raise ConfigError('container "%s" not found in pod' % cname)
        section, res = ref["resource"].split(".", 1)
        val = (ctr.get("resources", {}).get(section) or {}).get(res)
        if val is None:
            val = (ctr.get("resources", {}).get("limits") or {}).get(res) if section == "requests" else None
        if val is None:
            val = NODE_ALLOCATABLE.get(res, "0")
        divisor = quantity(ref.get("divisor") or "1") or 1
        return str(int(math.ceil(quantity(val) / divisor)))

    def _key(self, kind, ref):
        resource = "secrets" if kind == "secret" else "configmaps"
        obj = self._lookup(resource, ref["name"])
        if obj is None:
            if ref.get("optional"):
                return None
            raise ConfigError('%s "%s" not found' % (kind, ref["name"]))
        if kind == "secret":
            data = obj.get("data") or {}
            if ref["key"] not in data:
                if ref.get("optional"):
                    return None
                raise ConfigError("couldn't find key %s in Secret %s/%s" % (ref["key"], self.namespace, ref["name"]))
            return base64.b64decode(data[ref["key"]]).decode("utf-8", "replace")
        data = obj.get("data") or {}
        if ref["key"] not in data:
            if ref.get("optional"):
                return None
            raise ConfigError("couldn't find key %s in ConfigMap %s/%s" % (ref["key"], self.namespace, ref["name"]))
        return data[ref["key"]]

    @staticmethod
    def _expand(text, env):
        """$(VAR) expansion as the kubelet does it ($$ escapes, unknown references stay)."""
        out, i = "", 0
        while i < len(text):
            if text.startswith("$$", i):
                out += "$"
                i += 2
            elif text.startswith("$(", i) and ")" in text[i:]:
                end = text.index(")", i)
                name = text[i + 2:end]
                out += env[name] if name in env else text[i:end + 1]
                i = end + 1
            else:
                out += text[i]
                i += 1
        return out

    def _env(self, ctr, home, img):
        if img.get("rootfs"):  # the fake's PATH is host folders: nothing of them is in the image
            env = {"PATH": STANDARD_PATH}
        else:
            env = {"PATH": ":".join(x for x in (self.fake.path, STANDARD_PATH) if x)}
        env.update(img.get("env") or {})
        env.update(self.fake.node_env)
        env.update({"HOSTNAME": self.pod["spec"].get("hostname") or self.name})
        env.setdefault("HOME", home)
        env.update(self.fake.in_cluster_env())
        declared = {}
        for src in ctr.get("envFrom") or []:
            prefix = src.get("prefix", "")
            if "secretRef" in src or "configMapRef" in src:
                kind = "secret" if "secretRef" in src else "configmap"
                ref = src.get("secretRef") or src.get("configMapRef")
                obj = self._lookup("secrets" if kind == "secret" else "configmaps", ref["name"])
                if obj is None:
                    if ref.get("optional"):
                        continue
                    raise ConfigError('%s "%s" not found' % (kind, ref["name"]))
                for k, v in (obj.get("data") or {}).items():
                    declared[prefix + k] = base64.b64decode(v).decode("utf-8", "replace") if kind == "secret" else v
        for e in ctr.get("env") or []:
            if "valueFrom" in e:
                vf = e["valueFrom"]
                if "fieldRef" in vf:
                    val = self._field(vf["fieldRef"]["fieldPath"])
                elif "resourceFieldRef" in vf:
                    val = self._resource_field(vf["resourceFieldRef"], ctr["name"])
                elif "secretKeyRef" in vf:
                    val = self._key("secret", vf["secretKeyRef"])
                elif "configMapKeyRef" in vf:
                    val = self._key("configmap", vf["configMapKeyRef"])
                else:
                    val = ""
                if val is None:
                    continue
            else:
                val = self._expand(e.get("value", ""), {**env, **declared})
            declared[e["name"]] = val
        env.update(declared)
        return env

    def _write_volume_files(self, vdir, files, uid, fsgroup):
        """The kubelet's atomic writer: ..data -> ..TIMESTAMP dir; top-level links."""
        os.makedirs(vdir, exist_ok=True)
        os.chmod(vdir, 0o1777)
        stamp = "..%s" % datetime.datetime.now().strftime("%Y_%m_%d_%H_%M_%S.%f")
        tsdir = os.path.join(vdir, stamp)
        os.mkdir(tsdir, 0o755)
        tops = set()
        for rel, (data, mode, owner) in files.items():
            path = os.path.join(tsdir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data if isinstance(data, bytes) else data.encode())
            if fsgroup is not None:
                os.chown(path, -1, fsgroup)
                mode |= 0o440
            if owner is not None:
                os.chown(path, owner, -1)
            os.chmod(path, mode)
            tops.add(rel.split("/")[0])
        if fsgroup is not None:
            os.chown(vdir, -1, fsgroup)
            os.chown(tsdir, -1, fsgroup)
        os.symlink(stamp, os.path.join(vdir, "..data"))
        for t in sorted(tops):
            os.symlink(os.path.join("..data", t), os.path.join(vdir, t))

    def _source_files(self, kind, src, default_mode, uid):
        """Files of one secret/configMap/downwardAPI source: {path: (data, mode, owner)}."""
        files = {}
        if kind in ("secret", "configMap"):
            name = src.get("secretName") if kind == "secret" else src.get("name")
            resource = "secrets" if kind == "secret" else "configmaps"
            obj = self._lookup(resource, name)
            label = "secret" if kind == "secret" else "configmap"
            if obj is None:
                if src.get("optional"):
                    return files
                raise ConfigError('%s "%s" not found' % (label, name), mount=True)
            if kind == "secret":
                data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
            else:
                data = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
                data.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
            items = src.get("items")
            if items:
                for it in items:
                    if it["key"] not in data:
                        if src.get("optional"):
                            continue
                        raise ConfigError("%s references non-existent %s key: %s"
                                          % (label, "secret" if kind == "secret" else "config", it["key"]), mount=True)
                    files[it["path"]] = (data[it["key"]], it.get("mode", default_mode), None)
            else:
                for k, v in data.items():
                    files[k] = (v, default_mode, None)
        elif kind == "downwardAPI":
            for it in src.get("items") or []:
                if "fieldRef" in it:
                    val = self._field(it["fieldRef"]["fieldPath"])
                else:
                    val = self._resource_field(it["resourceFieldRef"], self._container)
                files[it["path"]] = (val, it.get("mode", default_mode), None)
        elif kind == "serviceAccountToken":
            sa = self.pod["spec"].get("serviceAccountName") or "default"
            files[src.get("path", "token")] = (self.fake.authorizer.token_for(self.namespace, sa), default_mode, uid)
        return files

    def _volumes(self, uid, fsgroup):
        """Materialise every volume under the pod dir; {name: host directory}."""
        out = {}
        for v in self.pod["spec"].get("volumes") or []:
            vdir = os.path.join(self.dir, "volumes", v["name"])
            if os.path.lexists(vdir) and "persistentVolumeClaim" not in v:
                shutil.rmtree(vdir)
            if "emptyDir" in v:
                os.makedirs(vdir)
                os.chmod(vdir, 0o777)
            elif "secret" in v or "configMap" in v or "downwardAPI" in v:
                kind = "secret" if "secret" in v else ("configMap" if "configMap" in v else "downwardAPI")
                src = v[kind]
                files = self._source_files(kind, src, src.get("defaultMode", 0o644), None)
                self._write_volume_files(vdir, files, uid, fsgroup)
            elif "projected" in v:
                dm = v["projected"].get("defaultMode", 0o644)
                files = {}
                for s in v["projected"].get("sources") or []:
                    for kind in ("secret", "configMap", "downwardAPI", "serviceAccountToken"):
                        if kind in s:
                            sub = dict(s[kind])
                            if kind == "secret":
                                sub["secretName"] = sub.get("name")
                            owner = uid if (kind == "serviceAccountToken" and fsgroup is None) else None
                            files.update(self._source_files(kind, sub, dm, owner))
                self._write_volume_files(vdir, files, uid, fsgroup)
            elif "persistentVolumeClaim" in v:
                # a claim's volume is one folder, shared by every pod that mounts it (as a
                # ReadWriteMany volume is): kept for the namespace, never under a pod
                claim = v["persistentVolumeClaim"].get("claimName", "")
                if self._lookup("persistentvolumeclaims", claim) is None:
                    raise ConfigError('persistentvolumeclaim "%s" not found' % claim, mount=True)
                vdir = os.path.join(self.fake.state_dir, "claims", self.namespace, claim)
                os.makedirs(vdir, exist_ok=True)
                os.chmod(vdir, 0o777)
            else:
                raise ConfigError("fakekube supports secret, configMap, downwardAPI, projected, emptyDir "
                                  "and persistentVolumeClaim volumes; volume %s is none of them" % v["name"],
                                  mount=True)
            out[v["name"]] = vdir
        return out

    def _identity(self, ctr):
        psc = self.pod["spec"].get("securityContext") or {}
        csc = ctr.get("securityContext") or {}
        uid = csc.get("runAsUser", psc.get("runAsUser"))
        gid = csc.get("runAsGroup", psc.get("runAsGroup"))
        non_root = csc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        if non_root and uid == 0:
            raise ConfigError('container\'s runAsUser breaks non-root policy (pod: "%s_%s(%s)", container: %s)'
                              % (self.name, self.namespace, self.uid, ctr["name"]))
        fsgroup = psc.get("fsGroup")
        groups = list(psc.get("supplementalGroups") or [])
        if fsgroup is not None:
            groups.append(fsgroup)
        if not self.fake.run_as_user:
            return None, None, [], None
        return uid, gid, groups, fsgroup

    @staticmethod
    def _host_path(path, files):
        """Where a path inside the container lives on the host: under one of the image's
        files (a bind mount), else the same path."""
        for target, source in files.items():
            if path == target or path.startswith(target.rstrip("/") + "/"):
                return source + path[len(target.rstrip("/")):]
        return path

    def _resolve(self, argv0, env, files):
        """The executable as a path inside the container (image files first, then the host
        directories that stand in for the image), or None."""
        def runnable(path):
            host = self._host_path(path, files)
            return os.path.isfile(host) and os.access(host, os.X_OK)
        if "/" in argv0:
            if runnable(argv0):
                return argv0
            argv0 = os.path.basename(argv0)
        for d in (self.fake.path + ":" + env.get("PATH", STANDARD_PATH)).split(":"):
            cand = os.path.join(d, argv0)
            if d and runnable(cand):
                return cand
        return None

    def hosts_text(self):
        """This pod's /etc/hosts now (dns.py): the kubelet's lines and the cluster's names."""
        store = self.fake.store
        return dns.hosts_file(self.pod, self.pod_ip, store.list("pods")[0], store.list("services")[0])

    def refresh_hosts(self):
        """Rewrite the hosts file when Services or pods changed what it should say."""
        if self.hosts_path and not self.done:
            text = self.hosts_text()
            if text != self._hosts_written:
                dns.rewrite(self.hosts_path, text)
                self._hosts_written = text

    def _image_paths(self, img, uid, gid):
        """Bind mounts that stand in for the image's filesystem: its files (host paths), and
        its writable directories (fresh for each container, owned by the container's user)."""
        mounts = []
        for target, source in sorted((img.get("files") or {}).items()):
            mounts.append({"source": os.path.realpath(source), "target": target, "readOnly": True})
        for target in img.get("writable") or []:
            layer = os.path.join(self.dir, "layer", target.strip("/").replace("/", "_"))
            if os.path.lexists(layer):
                shutil.rmtree(layer)
            os.makedirs(layer)
            os.chmod(layer, 0o775)
            if uid is not None:
                os.chown(layer, uid, gid if gid is not None else uid)
            mounts.append({"source": layer, "target": target, "readOnly": False})
        return mounts

    def _prepare(self, ctr, restarts):
        """Everything the exec helper needs; ConfigError when a reference is missing."""
        uid, gid, groups, fsgroup = self._identity(ctr)
        os.makedirs(self.dir, exist_ok=True)
        home = os.path.join(self.dir, "home")
        os.makedirs(home, exist_ok=True)
        if uid is not None:
            os.chown(home, uid, gid if gid is not None else -1)
        for d in (self.fake.state_dir, os.path.join(self.fake.state_dir, "pods"), self.dir):
            os.chmod(d, 0o755)  # the pod's user must reach its HOME
        img = self.fake.image(ctr["image"])
        if img.get("rootfs"):
            # a real image: its USER when the pod names none, HOME from its /etc/passwd
            if uid is None and self.fake.run_as_user and img.get("user"):
                uid, gid = images.user_ids(img["rootfs"], img["user"])
            home = images.home_of(img["rootfs"], 0 if uid is None else uid)
        env = self._env(ctr, home, img)
        vols = self._volumes(uid, fsgroup)
        mounts = []
        for vm in ctr.get("volumeMounts") or []:
            vol = next(v for v in self.pod["spec"]["volumes"] if v["name"] == vm["name"])
            source = vols[vm["name"]]
            if vm.get("subPath"):
                source = os.path.join(source, vm["subPath"])
                if not os.path.lexists(source):
                    os.makedirs(source)
            ro = vm.get("readOnly", False) or ("emptyDir" not in vol and "persistentVolumeClaim" not in vol)
            mounts.append({"source": os.path.realpath(source), "target": vm["mountPath"], "readOnly": ro})
        if os.path.exists("/etc/hosts") and not any(m["target"] == "/etc/hosts" for m in mounts):
            self.hosts_path = os.path.join(self.dir, "etc-hosts")
            self._hosts_written = self.hosts_text()
            dns.rewrite(self.hosts_path, self._hosts_written)
            mounts.append({"source": self.hosts_path, "target": "/etc/hosts", "readOnly": False})
        if img.get("rootfs") and os.path.exists("/etc/resolv.conf") and \
                not any(m["target"] == "/etc/resolv.conf" for m in mounts):
            # the kubelet writes the pod's resolv.conf; here the host's names are the cluster's
            mounts.append({"source": os.path.realpath("/etc/resolv.conf"), "target": "/etc/resolv.conf",
                           "readOnly": True})
        # Docker's rules: the container's command replaces the image's ENTRYPOINT (and its
        # CMD); args alone replace the CMD.
        if ctr.get("command"):
            command, args = list(ctr["command"]), list(ctr.get("args") or [])
        else:
            command = list(img.get("entrypoint") or [])
            args = list(ctr["args"]) if "args" in ctr else list(img.get("cmd") or [])
        argv = [self._expand(a, env) for a in command + args]
        scratch = os.path.join(self.dir, "scratch-%d" % restarts)
        os.makedirs(scratch, exist_ok=True)
        self.log_path = os.path.join(self.dir, "%s.log" % ctr["name"])
        csc = ctr.get("securityContext") or {}
        # What stands in for the image's filesystem lives on the host: the fake's PATH
        # and the absolute paths the node's env names. A volume over one of their parents
        # (an emptyDir at /tmp, with the build under /tmp) must not hide them.
        keep = []
        for d in self.fake.path.split(":") + [v for val in self.fake.node_env.values()
                                              for v in str(val).split(":")]:
            if d and os.path.isabs(d) and os.path.isdir(d) and os.path.realpath(d) not in keep \
                    and not img.get("rootfs"):
                keep.append(os.path.realpath(d))
        return {"argv": argv, "env": env, "cwd": ctr.get("workingDir") or img.get("workingDir") or "/",
                "keep": keep, "imageMounts": self._image_paths(img, uid, gid), "imageFiles": img.get("files") or {},
                "rootfs": img.get("rootfs"), "readOnlyRoot": csc.get("readOnlyRootFilesystem") is True,
                "noNewPrivs": csc.get("allowPrivilegeEscalation") is False,
                "hostname": self.pod["spec"].get("hostname") or self.name, "uid": uid, "gid": gid,
                "groups": groups, "scratch": scratch, "mounts": mounts, "image": ctr["image"]}

    def _spawn(self, spec):
        """Start the process; None when it runs, else the start error text."""
        err = self.fake.pod_runtime_error
        if err:
            return err
        if not spec["argv"]:
            return ('fakekube: image "%s" has no known entrypoint; give the container a command, '
                    'or FakeKube(entrypoints={image glob: argv})' % spec["image"])
        if not spec.get("rootfs"):  # a real image's PATH is looked up inside it, by pod_exec.py
            exe = self._resolve(spec["argv"][0], spec["env"], spec["imageFiles"])
            if exe is None:
                return 'exec: "%s": executable file not found in $PATH' % spec["argv"][0]
            spec = dict(spec, exe=exe)
        spec_path = os.path.join(self.dir, "exec-spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        os.chmod(spec_path, 0o600)
        rfd, wfd = os.pipe()
        gor, gow = os.pipe()
        log = open(self.log_path, "ab")
        try:
            with self._cond:
                if self._interrupted():
                    os.close(rfd)
                    os.close(gow)
                    return "pod is being deleted"
                self.proc = subprocess.Popen(
                    UNSHARE + [
                     PYTHON, "-I", EXEC_HELPER, spec_path, str(wfd), str(gor)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, pass_fds=(wfd, gor),
                    start_new_session=True, env={"PATH": STANDARD_PATH}, cwd="/")
        finally:
            os.close(wfd)
            os.close(gor)
            log.close()
        self.pid = self.proc.pid
        with os.fdopen(rfd, "rb") as r, os.fdopen(gow, "wb", buffering=0) as go:
            first = r.read(1)
            if first == b"R":
                self._hold_namespace(self.pid)
                try:
                    go.write(b"G")
                except BrokenPipeError:
                    pass
                rest = r.read()
            else:
                rest = first + r.read()
        message = rest.decode("utf-8", "replace")
        if message.startswith("E"):
            message = message[1:]
        if message or first != b"R":
            self.proc.wait()
            return message or "fakekube: the exec helper died (exit %s)" % self.proc.returncode
        self.started = True  # pid and mount namespace are known: live_pids() sees the pod
        return None

    def _hold_namespace(self, pid):
        """Open the pod's mount namespace: the open fd keeps it (and its inode number) alive,
        so no other namespace can be mistaken for it while the fd is held."""
        try:
            fd = os.open("/proc/%d/ns/mnt" % pid, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        st = os.fstat(fd)
        mine = os.stat("/proc/self/ns/mnt")
        if (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino):
            os.close(fd)
            return
        self.mntns = "mnt:[%d]" % st.st_ino
        self._ns_fds.append(fd)
        self._ns_ids.add((st.st_dev, st.st_ino))

    def _release_namespaces(self):
        """Once nothing runs in them any more, let the namespaces go."""
        for _ in range(50):
            if not self.live_pids():
                break
            self.kill_all()
            time.sleep(0.1)
        else:
            return  # keep holding: the teardown reports these processes
        for fd in self._ns_fds:
            os.close(fd)
        self._ns_fds = []
        self._ns_ids = set()

