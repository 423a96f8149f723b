"""The JVM's own last words: while a session starts, fd 2 goes through a pipe whose
tail is kept, so that a JVM that fails to start is quoted in the cell's error rather
than PySpark's "Java gateway process exited"."""
import os
import sys
import threading

# Java 17 announces Spark 4's incubator module at every start
INCUBATOR_WARNING = b"WARNING: Using incubator modules: jdk.incubator.vector\n"


class StderrTail:
    """While a session starts, fd 2 is a pipe read by a thread that passes every
    byte on to the real stderr (the notebook) and keeps the last few KB: the JVM
    inherits the pipe, so its last words can be put into the cell's error."""

    def __init__(self):
        self.tail = b""
        self.read_fd, write_fd = os.pipe()
        self.saved = os.dup(2)
        sys.stderr.flush()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self.thread = threading.Thread(target=self.pump, name="spark-k8s-stderr",
                                       daemon=True)
        self.thread.start()

    def pump(self):
        while True:
            try:
                data = os.read(self.read_fd, 65536)
            except OSError:
                return
            if not data:
                return
            self.tail = (self.tail + data)[-8192:]
            data = data.replace(INCUBATOR_WARNING, b"")
            try:
                if data:
                    os.write(self.saved, data)
            except OSError:
                pass

    def restore(self):
        """fd 2 back as it was; the pump goes on for the JVM's later output."""
        sys.stderr.flush()
        os.dup2(self.saved, 2)

    def last_words(self):
        lines = [ln for ln in self.tail.decode("utf-8", "replace").splitlines()
                 if ln.strip() and not ln.startswith("WARNING: Using incubator")]
        return "\n".join(lines[-15:])
