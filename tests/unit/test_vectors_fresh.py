"""test_vectors_fresh.py — the committed signature vectors are what jupyter_client makes today.

tests/unit/gen_vectors.py writes the vectors with Debian's jupyter_client; the C
tests read the committed copy. Regenerating and comparing catches a drift of
either the generator or jupyter_client's Session."""
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
COMMITTED = os.path.join(HERE, "vectors", "signatures.json")


def test_vectors_match_a_fresh_generation():
    with tempfile.TemporaryDirectory() as tmp:
        fresh_path = os.path.join(tmp, "signatures.json")
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_vectors.py"), fresh_path],
                       check=True, timeout=120)
        with open(fresh_path, "rb") as f:
            fresh = f.read()
    with open(COMMITTED, "rb") as f:
        committed = f.read()
    assert fresh == committed, (
        "tests/unit/vectors/signatures.json is stale: run "
        "/usr/bin/python3 tests/unit/gen_vectors.py and commit the result")


def test_vectors_cover_valid_and_invalid_cases():
    import json
    with open(COMMITTED, encoding="utf8") as f:
        vectors = json.load(f)["vectors"]
    assert any(v["valid"] for v in vectors)
    assert any(not v["valid"] for v in vectors)
    assert any(v["key_hex"] == "" for v in vectors)
    assert any(v["n_buffers"] > 0 for v in vectors)
