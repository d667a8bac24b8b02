#!/usr/bin/env python3
"""Write the Kilosort/phy test folders for spikepop-spikes' phy reader tests (needs numpy).

- valid/: 30 kHz recording; clusters 1 (tonic), 2 (bursting) and 3 (two spikes) hold the same spikes as the
  other formats' test files (see scripts/make_nwb_testdata.py). spike_times.npy is uint64 of shape (n, 1) as
  Kilosort 2 writes it, spike_clusters.npy is int32 of shape (n,); cluster_group.tsv marks 1 and 2 good, 3 mua.
- mismatched/: the same, with one spike_clusters entry missing.

Usage: python3 crates/spikes/tests/data/phy/make_phy.py
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RATE = 30000.0
TRAINS_MS = {
    1: [10.0 + 100.0 * i for i in range(8)],
    2: [onset + 5.0 * k for onset in (20.0, 220.0, 420.0, 620.0) for k in range(4)],
    3: [50.0, 400.0],
}
PARAMS = """dat_path = 'recording.dat'
n_channels_dat = 32
dtype = 'int16'
offset = 0
sample_rate = 30000.
hp_filtered = False
"""


def write(folder: Path, drop_last_cluster: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    spikes = sorted((round(t * RATE / 1000.0), c) for c, ts in TRAINS_MS.items() for t in ts)
    times = np.array([s for s, _ in spikes], dtype=np.uint64).reshape(-1, 1)
    clusters = np.array([c for _, c in spikes], dtype=np.int32)
    if drop_last_cluster:
        clusters = clusters[:-1]
    np.save(folder / "spike_times.npy", times)
    np.save(folder / "spike_clusters.npy", clusters)
    (folder / "params.py").write_text(PARAMS)
    (folder / "cluster_group.tsv").write_text("cluster_id\tgroup\n1\tgood\n2\tgood\n3\tmua\n")


if __name__ == "__main__":
    write(HERE / "valid", drop_last_cluster=False)
    write(HERE / "mismatched", drop_last_cluster=True)
