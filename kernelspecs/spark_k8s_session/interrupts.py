"""Interrupts and cancellation: interrupting a cell cancels the Spark jobs running at
that moment, from a thread of its own (py4j pins one connection to each thread: a
call made from the interrupted thread would be written into the connection that waits
for the running job). While the interrupted cell waits inside a Spark call, that call
is left to return, cancelled, and the cell ends with KeyboardInterrupt; a second
interrupt abandons the call at once (its connection is closed, so the next call
starts clean). An interrupt while the session starts is held until the start ends
(session.py)."""
import os
import signal
import sys
import threading

from .session import in_main_thread


def in_py4j(frame):
    """Whether FRAME is inside a py4j call (the thread waits on its connection)."""
    marker = os.sep + "py4j" + os.sep
    while frame is not None:
        if marker in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


class Interrupts:
    """SIGINT while a cell of SESSION's notebook runs (ipykernel installs
    signal.default_int_handler around each request; ours stands in front of it)."""

    def __init__(self, session):
        self.session = session
        self.cancelling = False        # jobs cancelled for an interrupt, the call not back
        self.cell_interrupted = False  # the running cell was interrupted
        self.previous = None           # the handler ours stands in front of
        self.handler = self.on_sigint  # one object, so that getsignal() can be compared

    def new_cell(self):
        """A cell starts: nothing is cancelled or interrupted yet."""
        self.cancelling = False
        self.cell_interrupted = False

    def stand_in_front(self):
        """Our handler in front of the one SIGINT has now (on the main thread)."""
        current = signal.getsignal(signal.SIGINT)
        if current is not self.handler:
            self.previous = current
            signal.signal(signal.SIGINT, self.handler)

    def on_sigint(self, signum, frame):
        session = self.session
        self.cell_interrupted = True
        if session.starting and not session.interrupted and in_main_thread():
            # a JVM call cut short now would leave a half-made SparkContext behind:
            # the start finishes, then the cell is interrupted (see Session.get)
            session.interrupted = True
            return
        if session.spark is not None and in_py4j(frame):
            if not self.cancelling:
                self.cancelling = True
                self.cancel_jobs(keep_on=True)
                return  # the Spark call returns, cancelled: see watch_cancellations
            self.abandon_call()  # a second interrupt: give the call up now
        else:
            self.cancel_jobs()
        self.cancelling = False
        if callable(self.previous):
            return self.previous(signum, frame)
        raise KeyboardInterrupt

    def cancel_jobs(self, keep_on=False):
        """SparkContext.cancelAllJobs from a thread of its own (its own connection).
        KEEP_ON: go on cancelling, twice a second for up to a minute, the jobs that
        start while the interrupted call has not returned (an interrupt that came
        before its job was submitted must still stop it)."""
        s = self.session.spark
        if s is None:
            return

        def run():
            import time
            deadline = time.monotonic() + 60
            try:
                s.sparkContext.cancelAllJobs()
                while keep_on:
                    time.sleep(0.5)
                    # only while the interrupted call has not returned: a later
                    # cell's jobs are not this interrupt's to cancel
                    if not self.cancelling or time.monotonic() > deadline:
                        return
                    s.sparkContext.cancelAllJobs()
            except Exception as exc:  # the interrupt itself must still happen
                print("spark-k8s: could not cancel the Spark jobs: %s" % exc, file=sys.stderr)

        threading.Thread(target=run, name="spark-k8s-cancel", daemon=True).start()

    def abandon_call(self):
        """Close this thread's py4j connection: the call waiting on it is given up,
        and the next call opens a fresh one instead of reading a stale answer."""
        try:
            client = self.session.spark.sparkContext._gateway._gateway_client
            conn = client.get_thread_connection()
            if conn is not None:
                conn.close(reset=True)
        except Exception:
            pass

    def watch_cancellations(self, _spark=None):
        """From now on a Spark call that fails while we cancel jobs for an interrupt
        raises KeyboardInterrupt (from the cancellation), as an interrupt should."""
        import py4j.java_gateway
        import py4j.protocol

        def wrap(get_return_value):
            if getattr(get_return_value, "_spark_k8s", False):
                return get_return_value

            def checked(*args, **kwargs):
                __tracebackhide__ = True  # IPython leaves this frame out of tracebacks
                try:
                    return get_return_value(*args, **kwargs)
                except Exception as exc:
                    if not self.cancelling:
                        raise
                    self.cancelling = False
                    why = next((ln.strip(" :") for ln in str(exc).splitlines()
                                if "cancel" in ln.lower()), "")
                    # the cell ends as interrupted, not with the JVM's long trace
                    raise KeyboardInterrupt(
                        "Spark jobs cancelled" + (" (%s)" % why if why else "")) from None

            checked._spark_k8s = True
            return checked

        py4j.protocol.get_return_value = wrap(py4j.protocol.get_return_value)
        py4j.java_gateway.get_return_value = wrap(py4j.java_gateway.get_return_value)
