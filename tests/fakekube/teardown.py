"""fakekube.teardown — ending a fake API server the way every test does: wait for no
leftover objects, check that no pod's processes outlived it, stop it, remove its state.
Shared by conftest.py's fixture and the tests that start their own fake."""
import shutil


class Started:
    """What the factory tracks to tear down."""

    def __init__(self, fake, state_dir):
        self.fake, self.state_dir = fake, state_dir


def teardown(started):
    """Stop the fake after checking that nothing is left: no pod, no pod process."""
    fake = started.fake
    problems = []
    try:
        if fake.check_leftovers:
            try:
                fake.wait_no_leftovers(timeout=30)
            except AssertionError as e:
                problems.append(str(e))
        for worker in fake.pod_workers():
            ns, name = worker.namespace, worker.name
            pod = fake.store.get("pods", ns, name)
            if pod is None or pod["metadata"]["uid"] != worker.uid:
                worker.join(fake.max_grace_seconds + 10)  # a kill may still be under way
            alive = worker.live_pids()
            if alive and (pod is None or pod["metadata"]["uid"] != worker.uid):
                problems.append("pod %s/%s was deleted but its processes %s are alive" % (ns, name, alive))
            elif alive and fake.check_leftovers:
                problems.append("pod %s/%s still runs processes %s" % (ns, name, alive))
    finally:
        fake.stop()
        survivors = fake.pod_processes()
        if survivors:
            fake.kill_pod_processes()
            problems.append("pod processes survived the server's stop: %s" % survivors)
        shutil.rmtree(started.state_dir, ignore_errors=True)
    if problems:
        raise AssertionError("fakekube teardown: " + "; ".join(problems))
