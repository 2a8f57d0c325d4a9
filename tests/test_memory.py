"""What a long generate run holds stays bounded: large blocks go back to the OS when freed, DSPy's disk cache is read
without a memory map, and the end of a run reads only the embeddings it uses."""

from __future__ import annotations

import platform
import subprocess
import sys
import threading

import numpy as np
import pytest

from agentinstruct.store import AdmittedUnit, RunStore

_MMAPPED_AFTER_A_LARGER_FREE = """
import ctypes, sys
from agentinstruct.units import fix_mmap_threshold

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
if sys.argv[1] == "fixed":
    fix_mmap_threshold()
libc.free(ctypes.c_void_p(libc.malloc(8 << 20)))  # by default, glibc's mmap threshold rises to 8 MB here
block = libc.malloc(4 << 20)
print(libc.mallinfo2().hblkhd >= 4 << 20)  # a map of its own (unmapped when freed), not a piece of an arena
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_large_blocks_keep_a_memory_map_of_their_own_after_larger_ones_were_freed():
    """A run's large blocks change size all the time; once glibc's threshold had risen, they were carved out of the
    arenas and what was freed there stayed resident (180-260 MB free inside the arenas, measured)."""

    def mapped(mode: str) -> bool:
        code = [sys.executable, "-c", _MMAPPED_AFTER_A_LARGER_FREE, mode]
        return subprocess.run(code, capture_output=True, text=True, check=True).stdout.strip() == "True"

    assert not mapped("default")  # what glibc does by default, so that this test can fail
    assert mapped("fixed")


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
