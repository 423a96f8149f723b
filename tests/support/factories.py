"""support.factories — the fixture that hands a test a function making things (kernels,
launchers, watchers) and closes every one it made when the test ends:

    @pytest.fixture
    def watcher():
        yield from closed_at_the_end(Watcher)
"""


def closed_at_the_end(make):
    """A generator for a fixture: yields a function that calls MAKE(*args, **kw) and keeps
    what it returns; at the fixture's end each of those is closed (close()), in order."""
    made = []

    def start(*args, **kw):
        thing = make(*args, **kw)
        made.append(thing)
        return thing

    yield start
    for thing in made:
        thing.close()
