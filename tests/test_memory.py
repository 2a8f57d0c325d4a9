"""What a long generate run holds stays bounded: memory freed inside malloc's arenas goes back to the OS, DSPy's disk
cache is read without a memory map, and the end of a run reads only the embeddings it uses."""

from __future__ import annotations

import platform
import subprocess
import sys
import threading

import numpy as np
import pytest

from agentinstruct.store import AdmittedUnit, RunStore

_RESIDENT_AFTER_FREEING = """
import ctypes, sys
from pathlib import Path
from agentinstruct.units import release_freed_memory

def resident_mb():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS"))
    return int(line.split()[1]) // 1024

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
blocks = [libc.malloc(100_000) for _ in range(3000)]  # 300 MB from the arena (below glibc's mmap threshold)
for block in blocks:
    ctypes.memset(block, 1, 100_000)
for block in blocks[:-1]:  # all but the last: the heap's top stays in use, so malloc cannot shrink it by itself
    libc.free(ctypes.c_void_p(block))
if sys.argv[1] == "release":
    release_freed_memory(every=0)
print(resident_mb())
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_memory_freed_inside_mallocs_arenas_goes_back_to_the_os():
    """glibc kept what a run freed inside its arenas (170-300 MB free in them, measured); units give it back."""

    def resident_mb(mode: str) -> int:
        code = [sys.executable, "-c", _RESIDENT_AFTER_FREEING, mode]
        return int(subprocess.run(code, capture_output=True, text=True, check=True).stdout)

    kept, released = resident_mb("keep"), resident_mb("release")
    assert kept - released > 200  # freed, yet resident until given back (so that this test can fail)


def test_the_dspy_disk_cache_is_read_without_a_memory_map_on_every_thread():
    """diskcache maps up to 64 MB of each of DSPy's 16 cache files per connection, and every thread has its own
    connection: each page a lookup touched stayed resident, once per thread (about 1.7 KB more per LM call)."""
    import dspy

    from agentinstruct.units import _disk_cache_only

    _disk_cache_only()
    shards = dspy.cache.disk_cache._shards
    sizes: list[int] = []

    def read_pragma() -> None:  # a thread of its own: a connection opened after the setting, like a unit's
        sizes.extend(shard._sql("PRAGMA mmap_size").fetchone()[0] for shard in shards)

    thread = threading.Thread(target=read_pragma)
    thread.start()
    thread.join()
    assert len(sizes) == 16 and set(sizes) == {0}
    dspy.cache.disk_cache.set("key", "value")  # still a working cache
    assert dspy.cache.disk_cache.get("key") == "value"


def _store_with_vectors(tmp_path, shards: int = 3) -> tuple[RunStore, np.ndarray]:
    store = RunStore(tmp_path / "out", {"skill": "test"})
    rng = np.random.default_rng(0)
    written = []
    for shard in range(shards):
        for unit in range(5):
            vectors = rng.random((unit % 3, 8)).astype(np.float32)
            written.append(vectors)
            kept = [{"record_id": f"{shard}-{unit}-{i}"} for i in range(len(vectors))]
            store.add_admitted(AdmittedUnit((shard, f"s{unit}"), kept, [v.tolist() for v in vectors], [], []))
        store.flush()  # a shard per round
    return store, np.concatenate(written)


@pytest.mark.parametrize(("limit", "step"), [(100, 1), (7, 2), (100, 3), (11, 5), (0, 1)])
def test_dataset_vectors_holds_every_step_th_of_the_first_limit_records(tmp_path, limit, step):
    store, written = _store_with_vectors(tmp_path)
    picked = store.dataset_vectors(limit, step)
    assert picked.dtype == np.float32
    if limit:
        np.testing.assert_array_equal(picked, written[:limit][::step])
    else:
        assert len(picked) == 0
    store.close()


def test_kept_vectors_gives_each_shards_ids_and_embeddings_in_order(tmp_path):
    store, written = _store_with_vectors(tmp_path)
    ids = [i for shard_ids, _ in store.kept_vectors() for i in shard_ids]
    vectors = np.concatenate([v for _, v in store.kept_vectors()])
    assert ids[:4] == ["0-1-0", "0-2-0", "0-2-1", "0-4-0"] and len(ids) == len(written)
    np.testing.assert_array_equal(vectors, written)
    store.close()


def test_the_embedding_map_reads_only_the_points_it_draws_of_the_dataset(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from agentinstruct.plots import _kept_vectors

    store, written = _store_with_vectors(tmp_path)
    store.close()
    (tmp_path / "out" / "data").mkdir()  # a dataset of the first 10 kept records; no summary.json yet
    pq.write_table(pa.table({"record_id": [str(i) for i in range(10)]}), tmp_path / "out" / "data" / "train.parquet")
    vectors, labels = _kept_vectors({"rc": tmp_path / "out"}, points=3)
    np.testing.assert_array_equal(vectors, written[:10][::3])
    assert labels == ["rc"] * 4


def test_the_embedder_keeps_vectors_of_its_most_recent_texts_only():
    """A run embeds every record it generates; kept for the run's life, the cache grew with every row."""
    from agentinstruct.metrics.diversity import Embedder

    embedder = Embedder(cache_size=2)
    encoded: list[str] = []
    encode = embedder.model.encode

    def counting_encode(texts, **kwargs):
        encoded.extend(texts)
        return encode(texts, **kwargs)

    embedder.model.encode = counting_encode
    texts = ["a river in winter", "a tower by the harbor", "the village council", "a ferry at dawn"]
    vectors = embedder.embed(texts)  # more texts than the cache holds: every vector still comes back
    assert encoded == texts
    assert embedder.embed(texts[-1:]).tolist() == vectors[-1:].tolist()  # recent: from the cache
    assert encoded == texts
    np.testing.assert_allclose(embedder.embed(texts[:1]), vectors[:1], atol=1e-6)  # evicted: encoded again, same
    assert encoded == [*texts, texts[0]]


def test_the_kept_sets_embeddings_are_given_back_before_the_outputs_are_written(
    monkeypatch, text_seeds, tmp_path, mlflow_uri
):
    """The novelty index holds 1.5 KB a kept record (150 MB at 100,000): held while the outputs were written, the
    end of a long run peaked at index + outputs."""
    import gc
    import weakref

    from agentinstruct.cli import main
    from agentinstruct.metrics import scoring
    from agentinstruct.store import RunStore
    from tests.stub_server import StubOpenAI

    indexes: list[weakref.ref] = []
    make_index = scoring.NoveltyIndex.__init__

    def remembered(self, *args, **kwargs):
        make_index(self, *args, **kwargs)
        indexes.append(weakref.ref(self))

    monkeypatch.setattr(scoring.NoveltyIndex, "__init__", remembered)
    alive_at_write: list[int] = []
    write_outputs = RunStore.write_outputs

    def counting(self, n):
        gc.collect()
        alive_at_write.append(sum(ref() is not None for ref in indexes))
        return write_outputs(self, n)

    monkeypatch.setattr(RunStore, "write_outputs", counting)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with StubOpenAI() as stub:
        command = ["generate", "--seeds", str(text_seeds), "--n", "3", "--out", str(tmp_path / "out")]
        assert main([*command, "--lm", "openai/stub", "--api-base", stub.base_url, "--quiet"]) == 0
    assert indexes and alive_at_write == [0]
